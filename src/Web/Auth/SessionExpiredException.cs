namespace Sentinel.Web.Auth;

/// <summary>The user's server-side tokens are gone or Entra asks for interaction: sign in again.</summary>
public sealed class SessionExpiredException() : Exception("your session has expired; sign in again");

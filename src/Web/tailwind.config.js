/** @type {import('tailwindcss').Config} */
module.exports = {
  content: ['./Views/**/*.cshtml', './wwwroot/js/**/*.js', './Models/**/*.cs'],
  theme: {
    extend: {
      colors: {
        brand: { 50: '#eef4ff', 100: '#dbe6fe', 500: '#3b6fe0', 600: '#2f5bc4', 700: '#25489c', 900: '#172c5c' },
      },
    },
  },
  plugins: [],
};

// Applies the saved (or system) colour theme before the first paint; a file, not inline, for the CSP.
(function () {
  try {
    var saved = localStorage.getItem('pkim-theme');
    var dark = saved ? saved === 'dark' : window.matchMedia('(prefers-color-scheme: dark)').matches;
    document.documentElement.classList.toggle('dark', dark);
  } catch (e) {
    /* storage unavailable: light theme */
  }
})();

// Long sections of a page are collapsed (<details data-open-from-md>) so that a phone's page stays short; from the md
// breakpoint up they open as the page loads, so a wide screen shows them as before. Without JavaScript they stay
// collapsed, one tap away. A file rather than an inline script: the Content-Security-Policy runs none.
(function () {
  if (window.matchMedia("(min-width: 768px)").matches) {
    document.querySelectorAll("details[data-open-from-md]").forEach(function (details) {
      details.open = true;
    });
  }
})();

// Print buttons: a click on any element marked data-print prints the page. A file rather than onclick="..." because
// the Content-Security-Policy runs no inline script or handler.
document.addEventListener("click", function (event) {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});

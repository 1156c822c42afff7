// Progressive enhancement: a "copy" button for codes. Without JavaScript the button stays hidden
// and the code can be selected and copied by hand.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var status = document.getElementById(button.getAttribute("aria-describedby"));
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      if (status) { status.textContent = status.getAttribute("data-done"); }
    });
  });
});

// The console's pages, enhanced. Without JavaScript they work the same: the answer is right below the
// page heading, and reloading the status page shows the newest status.
(function () {
  // A check's answer: focus its headline, so a screen reader reads it first, without scrolling the
  // page heading and menu away; the answer follows the heading, so the whole focus ring stays in view.
  var headline = document.getElementById("answer-title");
  if (headline) {
    headline.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  // On a narrow screen the menu row scrolls sideways: bring the current page's link into view.
  var menu = document.querySelector(".console-nav");
  var current = menu && menu.querySelector("[aria-current=page]");
  if (current && menu.scrollWidth > menu.clientWidth) {
    menu.scrollLeft = current.offsetLeft - menu.offsetLeft - (menu.clientWidth - current.offsetWidth) / 2;
  }

  // The oral-mandate status page follows the request live (server-sent events) and says each change
  // in its status region.
  var box = document.getElementById("request-status");
  if (!box || !window.EventSource) { return; }
  var title = box.querySelector(".answer-title");
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("status", function (event) {
    var state = JSON.parse(event.data);
    var key = state.status === "declined" && state.reason === "not_me" ? "not_me" : state.status;
    title.textContent = box.getAttribute("data-text-" + key);
    title.setAttribute("data-status", state.status);
    box.className = "answer answer--" + state.status;
    if (state.reference) {
      var strong = document.createElement("strong");
      strong.className = "reference";
      strong.textContent = state.reference;
      title.appendChild(document.createTextNode(" "));
      title.appendChild(strong);
    }
    document.querySelectorAll("[data-state=scope]").forEach(function (part) {
      part.textContent = state.scope || "";
    });
    document.querySelectorAll("[data-for-status]").forEach(function (part) {
      part.hidden = part.getAttribute("data-for-status").split(" ").indexOf(state.status) < 0;
    });
    if (state.status !== "pending") { source.close(); }
  });
})();

// Links marked data-top open an Airflow UI page in the UI itself, not inside this iframe. The UI embeds
// the view in a sandboxed iframe without allow-top-navigation, so the iframe cannot navigate the top
// window; it is same-origin, though, so it can ask the UI's router to go there (history + popstate).
// Outside an iframe, or if the UI cannot be reached, the link works as an ordinary link.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-top]");
  if (!link || window.top === window) return;
  try {
    const top = window.top;
    const url = new URL(link.href, top.location.href);
    if (url.origin !== top.location.origin) return;
    const idx = (top.history.state && typeof top.history.state.idx === "number") ? top.history.state.idx + 1 : 0;
    top.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx }, "", url.pathname + url.search);
    top.dispatchEvent(new PopStateEvent("popstate", { state: top.history.state }));
    event.preventDefault();
  } catch (error) {
    // a cross-origin top window: leave the link alone
  }
});

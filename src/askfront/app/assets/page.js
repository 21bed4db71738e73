() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const found = (link.getAttribute("href") || "").match(/cite-(\d+)-(\d+)/);
    const box = document.querySelector("#cite-pick textarea, #cite-pick input");
    if (!found || !box) return;
    box.value = `${found[1]}:${found[2]}:${Date.now()}`;  // always a change, even for the same [n]
    box.dispatchEvent(new Event("input", { bubbles: true }));
    document.querySelector("#passage")?.scrollIntoView({ block: "nearest" });
  }, true);
  document.addEventListener("click", (event) => {  // a hit in a search list: that report, at the hit
    const link = event.target.closest && event.target.closest("a.hit");
    if (!link) return;
    event.preventDefault();
    const found = (link.getAttribute("href") || "").match(/hit-(\d+)-(\d+)-(\d+)/);
    const panel = link.closest("#search-panel, #names-panel");
    const box = panel && panel.querySelector(".hit-pick textarea, .hit-pick input");
    if (!found || !box) return;
    box.value = `${found[1]}:${found[2]}:${found[3]}:${Date.now()}`;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }, true);
  setInterval(() => {  // a table wider than its place says it scrolls sideways (the hint under it)
    for (const hint of document.querySelectorAll(".block.scroll-hint")) {
      let table = hint.previousElementSibling;
      while (table && !table.querySelector("table")) table = table.previousElementSibling;
      const box = table && (table.querySelector(".virtual-table-viewport") || table.querySelector("table")?.parentElement);
      hint.classList.toggle("shown", !!box && box.scrollWidth > box.clientWidth + 1);
    }
  }, 700);
}

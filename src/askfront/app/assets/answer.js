(...args) => {
  const show = () => {
    const bots = document.querySelectorAll("#chat .message.bot, #chat [data-testid='bot']");
    const last = bots[bots.length - 1];
    if (!last) return;
    let box = last.parentElement;
    const scrolls = (el) =>
      el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(el).overflowY);
    while (box && box !== document.body && !scrolls(box)) box = box.parentElement;
    if (box && box !== document.body) {
      // below the chat's own header ("Chat" label and buttons float over the top of the box)
      let below = box.getBoundingClientRect().top;
      for (const head of document.querySelectorAll("#chat [data-testid='block-label'], #chat label, #chat .icon-button-wrapper")) {
        const r = head.getBoundingClientRect();
        if (r.height && r.bottom > below && r.top < box.getBoundingClientRect().top + 60) below = r.bottom;
      }
      box.scrollTop += last.getBoundingClientRect().top - below - 8;
    }
    const top = last.getBoundingClientRect().top;
    if (window.innerWidth < 700 && (top < 0 || top > window.innerHeight * 0.6)) window.scrollBy(0, top - 60);
  };
  setTimeout(show, 150);
  setTimeout(show, 600);
  return args;
}

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
      box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
    }
    const top = last.getBoundingClientRect().top;
    if (window.innerWidth < 700 && (top < 0 || top > window.innerHeight * 0.6)) window.scrollBy(0, top - 60);
  };
  setTimeout(show, 150);
  setTimeout(show, 600);
  return args;
}

watch('value', () => {
  const mark = element.querySelector('#rag-hit');
  const body = element.querySelector('.rag-doc-body');
  if (!mark || !body) return;
  body.scrollTop = Math.max(0, mark.offsetTop - body.clientHeight / 3);
  const box = element.getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight - 120) {
    element.scrollIntoView({block: 'start', behavior: 'instant'});
  }
});

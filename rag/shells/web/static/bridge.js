document.addEventListener('click', (event) => {
  const copy = event.target.closest('a.rag-copy');
  if (copy) {
    event.preventDefault();
    event.stopPropagation();
    const source = copy.closest('.rag-answer').querySelector('pre.rag-markdown');
    navigator.clipboard.writeText(source ? source.textContent : '').then(
      () => { copy.textContent = 'Copied'; setTimeout(() => { copy.textContent = 'Copy answer'; }, 1500); },
      () => { copy.textContent = 'Copy failed: select the answer instead'; });
    return;
  }
  const link = event.target.closest('a.rag-cite, a.rag-ev');
  if (!link) return;
  const match = (link.getAttribute('href') || '').match(/^#rag-(cite|ev)-(\d+)-(\d+)$/);
  if (!match) return;
  event.preventDefault();
  event.stopPropagation();
  trigger('cite', {kind: match[1], turn: Number(match[2]), index: Number(match[3])});
}, true);

// Progressive enhancement shared by every page: focus the error summary (or the page's
// heading after a step) so a screen reader starts where the news is.
document.addEventListener('DOMContentLoaded', () => {
  const target = document.querySelector('[data-autofocus]');
  if (target instanceof HTMLElement) target.focus();
});

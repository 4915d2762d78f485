// The verification steps that need the browser: the position (geolocation) and the photos (camera
// or files, read here and sent as JSON to the same API routes the page's forms stand for).
document.addEventListener('DOMContentLoaded', () => {
  const position = document.getElementById('position-form');
  if (position) {
    const error = document.getElementById('position-error');
    const fail = (text) => {
      error.textContent = text;
      error.hidden = false;
      error.focus?.();
    };
    position.addEventListener('submit', (event) => {
      if (position.elements.latitude.value) return; // filled: let the form go
      event.preventDefault();
      if (!navigator.geolocation) return fail(position.dataset.unsupported);
      navigator.geolocation.getCurrentPosition(
        (p) => {
          position.elements.latitude.value = String(p.coords.latitude);
          position.elements.longitude.value = String(p.coords.longitude);
          position.elements.accuracyMeters.value = String(Math.round(p.coords.accuracy));
          position.submit();
        },
        () => fail(position.dataset.refused),
        { enableHighAccuracy: true, timeout: 30000 },
      );
    });
  }

  const images = document.getElementById('images-form');
  if (images) {
    const error = document.getElementById('images-error');
    const button = images.querySelector('button[type=submit]');
    const label = button.textContent;
    const groups = images.querySelectorAll('[data-for]');
    const chosenType = () => images.querySelector('input[name=type]:checked')?.value;
    const showGroup = () => groups.forEach((g) => (g.hidden = g.dataset.for !== chosenType()));
    images.querySelectorAll('input[name=type]').forEach((r) => r.addEventListener('change', showGroup));
    showGroup();
    const base64 = (file) =>
      new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result).split(',')[1]);
        reader.onerror = reject;
        reader.readAsDataURL(file);
      });
    const fileOf = (id) => document.getElementById(id)?.files?.[0];
    images.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      const files =
        images.dataset.kind === 'selfie' ? [fileOf('selfie')] : chosenType() === 'passport' ? [fileOf('photo-page')] : [fileOf('front'), fileOf('back')];
      if (files.some((f) => !f || !/^image\/(jpeg|png)$/.test(f.type) || f.size > 10 * 1024 * 1024)) {
        error.textContent = images.dataset.error;
        error.hidden = false;
        return;
      }
      button.disabled = true;
      button.textContent = images.dataset.sending;
      try {
        const encoded = await Promise.all(files.map(base64));
        const body = images.dataset.kind === 'selfie' ? { image: encoded[0] } : { type: chosenType(), images: encoded };
        const res = await fetch(images.dataset.endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (res.ok && images.dataset.done) return window.location.assign(images.dataset.done);
        if (res.ok || res.status === 409) return window.location.reload();
        const problem = await res.json().catch(() => ({}));
        error.textContent = res.status === 422 ? images.dataset.error : problem.title || images.dataset.error;
        error.hidden = false;
      } catch {
        error.textContent = images.dataset.error;
        error.hidden = false;
      } finally {
        button.disabled = false;
        button.textContent = label;
      }
    });
  }
});

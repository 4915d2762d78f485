// The review desk: plain browser script over the /v1 verification API. The agent's token lives in
// sessionStorage (gone with the tab) and travels only in the Authorization header; document images
// are fetched with it and shown through blob: URLs, so it never lands in a URL, a log or the history.
// The agent's own cases are the ones `assignee=me` returns; GET /v1/agents/me says whether the
// agent is a supervisor, who may give any submitted case to another agent (issue 18, item 2).
'use strict';

(() => {
  const TOKEN_KEY = 'desk.token';
  const REFRESH_MS = 30_000;
  const REASONS = {
    forgotten_password: 'Forgotten password',
    forgotten_login_email: 'Forgotten login email',
    disable_2fa: 'Disable two-factor authentication',
    account_unblock: 'Account unblock',
    ticketing_first_payout: 'First ticketing payout',
    blocked_order: 'Blocked order',
  };
  const DOCUMENT_KINDS = {
    id_card_front: 'Identity card, front',
    id_card_back: 'Identity card, back',
    passport_photo_page: 'Passport, photo page',
    selfie: 'Selfie',
  };
  const OUTCOMES = {
    approved: 'Case approved.',
    rejected: 'Case rejected.',
    awaiting_customer: 'Resubmission requested: the case is back with the customer.',
  };

  const el = (id) => document.getElementById(id);
  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  let token = sessionStorage.getItem(TOKEN_KEY);
  let filter = 'all';
  let mine = new Set();
  let current = null;
  let blobUrls = [];
  let timer;
  /** The signed-in agent (GET /v1/agents/me); a supervisor's carries the agents a case can go to. */
  let profile = null;

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.title || `The server answered ${status}`);
      this.status = status;
      this.problem = problem;
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // Answers carry personal data and identity documents: keep them out of the HTTP cache.
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    if (!res.ok) {
      const json = /^application\/(problem\+)?json/.test(res.headers.get('content-type') || '');
      throw new ApiError(res.status, json ? await res.json().catch(() => ({})) : {});
    }
    return res;
  }
  const apiJson = async (method, path, body) => (await api(method, path, body)).json();
  const casePath = (id) => `/v1/verification-cases/${encodeURIComponent(id)}`;

  function showAlert(title, detail) {
    const heading = document.createElement('strong');
    heading.textContent = title;
    const parts = [heading];
    if (detail) {
      const p = document.createElement('p');
      p.textContent = detail;
      parts.push(p);
    }
    el('alert').replaceChildren(...parts);
    el('alert').hidden = false;
  }

  function clearMessages() {
    el('alert').hidden = true;
    el('alert').replaceChildren();
    el('status').textContent = '';
  }

  function report(err) {
    if (!(err instanceof ApiError)) return showAlert('The server cannot be reached', err.message);
    // A refused token ends the session: the agent signs in again with a fresh one.
    if (err.status === 401) signOut();
    showAlert(err.problem.title || `The request failed (${err.status})`, err.problem.detail);
  }

  function duration(ms) {
    const minutes = Math.floor(ms / 60_000);
    if (minutes < 1) return 'less than 1 min';
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    const parts = days > 0 ? [days && `${days} d`, hours && `${hours} h`] : [hours && `${hours} h`, minutes % 60 && `${minutes % 60} min`];
    return parts.filter(Boolean).join(' ');
  }

  function timeLeft(c, now) {
    if (!c.dueAt) return { text: 'no due time', overdue: c.overdue };
    const ms = Date.parse(c.dueAt) - now;
    if (ms < 0) return { text: `overdue by ${duration(-ms)}`, overdue: true };
    return { text: `${duration(ms)} left`, overdue: c.overdue };
  }

  function timeElement(iso) {
    const t = document.createElement('time');
    if (iso) {
      t.dateTime = iso;
      t.textContent = dateFormat.format(new Date(iso));
    } else {
      t.textContent = '—';
    }
    return t;
  }

  function cell(content) {
    const td = document.createElement('td');
    if (typeof content === 'string') td.textContent = content;
    else if (content) td.append(content);
    return td;
  }

  function button(label, onClick, className) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    if (className) b.className = className;
    b.addEventListener('click', onClick);
    return b;
  }

  function renderQueue(items) {
    // Rows are rebuilt on every refresh: put the keyboard focus back on the same row's button.
    const focused = document.activeElement?.closest?.('#queue-rows tr')?.dataset.caseId;
    const rows = items.map((c) => {
      const tr = document.createElement('tr');
      tr.dataset.caseId = c.id;
      tr.dataset.dueAt = c.dueAt || '';
      tr.dataset.overdue = String(c.overdue);
      const reasonId = `reason-${c.id}`;
      const reason = cell(REASONS[c.reason] || c.reason);
      reason.id = reasonId;
      const left = cell('');
      left.className = 'time-left';
      let assignee = 'Another agent';
      let action = null;
      if (c.assigneeId === null) {
        assignee = 'Unassigned';
        action = button('Claim', () => void claim(c.id));
      } else if (mine.has(c.id)) {
        assignee = 'You';
        action = button('Open', () => void open(c.id), 'secondary');
        if (current?.id === c.id) tr.setAttribute('aria-current', 'true');
      }
      action?.setAttribute('aria-describedby', reasonId);
      if (c.assigneeId !== null && !mine.has(c.id)) assignee = agentName(c.assigneeId) ?? assignee;
      const who = cell(assignee);
      if (profile?.supervisor) who.append(reassignControl(c, reasonId));
      tr.append(reason, cell(timeElement(c.submittedAt)), left, who, cell(action));
      return tr;
    });
    el('queue-rows').replaceChildren(...rows);
    el('queue-empty').hidden = items.length > 0;
    refreshTimes();
    if (focused)
      el('queue-rows')
        .querySelector(`tr[data-case-id="${CSS.escape(focused)}"] button`)
        ?.focus();
  }

  const regions = new Intl.DisplayNames([navigator.language || 'en'], { type: 'region' });
  /** The holder's country by name, with its code (what the document shows may be either). */
  const countryName = (code) => (code ? `${regions.of(code) ?? code} (${code})` : 'Not given');

  const agentName = (id) => profile?.agents?.find((a) => a.id === id)?.displayName;

  /** A supervisor's select of the agents (and the queue) with its button; labelled by the case's reason. */
  function reassignControl(c, reasonId) {
    const wrap = document.createElement('div');
    wrap.className = 'reassign';
    const select = document.createElement('select');
    select.id = `assign-${c.id}`;
    const label = document.createElement('label');
    label.htmlFor = select.id;
    label.className = 'visually-hidden';
    label.textContent = 'Reassign to';
    const options = [
      { value: '', text: 'Back to the queue' },
      ...profile.agents.map((a) => ({ value: a.id, text: `${a.displayName} (${a.claimedCases} held)` })),
    ];
    for (const o of options) {
      const opt = document.createElement('option');
      opt.value = o.value;
      opt.textContent = o.text;
      opt.selected = (c.assigneeId ?? '') === o.value;
      select.append(opt);
    }
    const go = button('Reassign', () => void reassign(c.id, select.value || null), 'secondary');
    go.setAttribute('aria-describedby', reasonId);
    wrap.append(label, select, go);
    return wrap;
  }

  function refreshTimes() {
    const now = Date.now();
    for (const tr of el('queue-rows').rows) {
      const left = timeLeft({ dueAt: tr.dataset.dueAt || null, overdue: tr.dataset.overdue === 'true' }, now);
      tr.querySelector('.time-left').textContent = left.text;
      tr.classList.toggle('overdue', left.overdue);
    }
    const facts = el('case-facts').querySelector('.time-left');
    if (current && facts) {
      const left = timeLeft(current, now);
      facts.textContent = left.text;
      facts.classList.toggle('overdue', left.overdue);
    }
  }

  async function loadQueue() {
    const query = (assignee) => `/v1/verification-cases?status=submitted${assignee ? `&assignee=${assignee}` : ''}&limit=50`;
    const shownQuery = filter === 'overdue' ? `${query('')}&overdue=true` : query(filter === 'all' ? '' : filter);
    if (!profile) profile = await apiJson('GET', '/v1/agents/me');
    else if (profile.supervisor) profile = await apiJson('GET', '/v1/agents/me');
    el('codec-session').hidden = !profile.supervisor;
    const [shown, claimed] = await Promise.all([apiJson('GET', shownQuery), filter === 'me' ? null : apiJson('GET', query('me'))]);
    mine = new Set((claimed ?? shown).items.map((c) => c.id));
    renderQueue(shown.items);
  }

  function fact(term, value) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    if (typeof value === 'string') dd.textContent = value;
    else dd.append(value);
    return [dt, dd];
  }

  function closeCase() {
    current = null;
    for (const url of blobUrls) URL.revokeObjectURL(url);
    blobUrls = [];
    el('documents').replaceChildren();
    el('case-facts').replaceChildren();
    el('decision-form').reset();
    el('case-detail').hidden = true;
    el('case-none').hidden = false;
    el('case-title').textContent = 'Case';
  }

  function showCase(c) {
    closeCase();
    current = c;
    el('case-title').textContent = `Case: ${REASONS[c.reason] || c.reason}`;
    const left = document.createElement('span');
    left.className = 'time-left';
    const facts = [
      fact('Case', c.id),
      fact('Account', c.accountId),
      c.subject ? fact('Concerns', `${c.subject.type} ${c.subject.id}`) : [],
      fact('Submitted', timeElement(c.submittedAt)),
      fact('Due', timeElement(c.dueAt)),
      fact('Time left', left),
      c.resubmissionReason ? fact('Earlier resubmission request', c.resubmissionReason) : [],
    ];
    el('case-facts').replaceChildren(...facts.flat());
    el('case-detail').hidden = false;
    el('case-none').hidden = true;
    refreshTimes();
    void loadContext(c);
    void loadDocuments(c);
  }

  const money = (cents, currency) => `${(cents / 100).toFixed(2)} ${currency}`;

  /** Who the agent is verifying: the holder's name to compare with the document, the order, earlier cases. */
  async function loadContext(c) {
    let detail = c;
    if (!detail.context) {
      try {
        detail = await apiJson('GET', casePath(c.id));
      } catch (err) {
        return report(err);
      }
    }
    if (current !== c || !detail.context) return;
    const { holder, order, earlierCases, documentsRequired } = detail.context;
    const list = (items) => {
      const ul = document.createElement('ul');
      ul.className = 'plain';
      for (const text of items) {
        const li = document.createElement('li');
        li.textContent = text;
        ul.append(li);
      }
      return ul;
    };
    const facts = [
      fact('Holder', holder.name || '—'),
      fact('Login email', holder.loginEmail || '—'),
      fact('Country', countryName(holder.country)),
      order
        ? fact(
            'Order',
            list([
              ...order.lines.map((l) => `${l.quantity} × ${l.description}: ${money(l.unitPriceCents, order.currency)}`),
              `Total ${money(order.totalCents, order.currency)}`,
            ]),
          )
        : [],
      fact(
        'Earlier cases',
        earlierCases.length ? list(earlierCases.map((e) => `${REASONS[e.reason] || e.reason}: ${e.status} (${e.openedAt.slice(0, 10)})`)) : 'none',
      ),
      documentsRequired ? fact('Four eyes', 'Approve only on the reviewed document and selfie; a manual verification may only reject') : [],
    ];
    el('case-facts').append(...facts.flat());
  }

  async function loadDocuments(c) {
    if (c.documents.length === 0) {
      const p = document.createElement('p');
      p.textContent = 'This case has no document.';
      el('documents').replaceChildren(p);
      return;
    }
    await Promise.all(
      c.documents.map(async (doc) => {
        const figure = document.createElement('figure');
        const caption = document.createElement('figcaption');
        caption.textContent = DOCUMENT_KINDS[doc.kind] || doc.kind;
        figure.append(caption);
        el('documents').append(figure);
        try {
          const blob = await (await api('GET', `${casePath(c.id)}/documents/${encodeURIComponent(doc.id)}`)).blob();
          if (current !== c) return;
          const url = URL.createObjectURL(blob);
          blobUrls.push(url);
          const img = document.createElement('img');
          img.alt = caption.textContent;
          img.src = url;
          figure.prepend(img);
        } catch (err) {
          const p = document.createElement('p');
          p.className = 'error';
          p.textContent = `Not shown: ${err instanceof ApiError ? [err.problem.title, err.problem.detail].filter(Boolean).join('. ') || err.message : err.message}`;
          figure.prepend(p);
        }
      }),
    );
  }

  // Every action clears old messages, reports failures the same way and reloads the queue.
  const act =
    (fn) =>
    async (...args) => {
      clearMessages();
      try {
        await fn(...args);
      } catch (err) {
        report(err);
      }
      if (token) await loadQueue().catch(report);
    };

  const claim = act(async (id) => {
    const c = await apiJson('POST', `${casePath(id)}/claim`);
    mine.add(c.id);
    showCase(c);
    el('status').textContent = 'Case claimed.';
  });

  const open = act(async (id) => showCase(await apiJson('GET', casePath(id))));

  const reassign = act(async (id, agentId) => {
    await apiJson('PUT', `${casePath(id)}/assignment`, { agentId });
    if (current?.id === id && agentId !== profile.id) closeCase();
    el('status').textContent = agentId ? `Case given to ${agentName(agentId) ?? 'another agent'}.` : 'Case put back in the queue.';
  });

  const release = act(async () => {
    await apiJson('DELETE', `${casePath(current.id)}/claim`);
    closeCase();
    el('status').textContent = 'Case released to the queue.';
  });

  const decide = act(async (decision, reason) => {
    const c = await apiJson('POST', `${casePath(current.id)}/decision`, { decision, reason });
    closeCase();
    el('status').textContent = OUTCOMES[c.status] || `The case is now ${c.status}.`;
  });

  function showDesk() {
    el('sign-in').hidden = true;
    el('desk').hidden = false;
    el('sign-out').hidden = false;
    clearInterval(timer);
    timer = setInterval(() => {
      refreshTimes();
      loadQueue().catch(report);
    }, REFRESH_MS);
  }

  function signOut() {
    token = null;
    profile = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearInterval(timer);
    closeCase();
    el('queue-rows').replaceChildren();
    el('desk').hidden = true;
    el('sign-out').hidden = true;
    el('sign-in').hidden = false;
    el('token').focus();
  }

  el('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearMessages();
    const pasted = el('token')
      .value.trim()
      .replace(/^Bearer\s+/i, '');
    el('token').value = '';
    if (!/^[A-Za-z0-9_.-]+$/.test(pasted)) return showAlert('That is not a token', 'Paste the token exactly as it was issued to you.');
    token = pasted;
    sessionStorage.setItem(TOKEN_KEY, token);
    showDesk();
    loadQueue().then(() => el('queue-title').focus(), report);
  });

  el('sign-out').addEventListener('click', () => {
    clearMessages();
    signOut();
    el('status').textContent = 'Signed out.';
  });

  const reload = act(async () => {});
  el('refresh').addEventListener('click', () => void reload());

  for (const radio of document.querySelectorAll('input[name="assignee"]')) {
    radio.addEventListener('change', () => {
      filter = radio.value;
      void reload();
    });
  }

  el('release').addEventListener('click', () => void release());

  // Supervisors: the API's codec endpoint remembers them in a cookie the Temporal UI sends once its
  // codec settings include cross-origin credentials; everyone else sees ciphertext there. The UI
  // ignores that switch for the endpoint npm start configures, so the supervisor enters it as their own.
  el('codec-session').addEventListener(
    'click',
    act(async () => {
      await api('POST', '/codec/session');
      el('status').textContent =
        'For an hour, the Temporal UI decodes workflow payloads for you. Once, in its Codec Server settings: choose ' +
        `"Use my browser setting and ignore Cluster-level setting", enter ${location.origin}/codec and turn on "Include cross-origin credentials".`;
    }),
  );

  el('decision-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(el('decision-form'));
    const reason = String(form.get('reason') || '').trim();
    if (!reason) return showAlert('A reason is required', 'Say why you took this decision.');
    void decide(String(form.get('decision')), reason);
  });

  if (token) {
    showDesk();
    loadQueue().catch(report);
  } else {
    signOut();
  }
})();

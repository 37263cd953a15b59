/* <hubster-webchat>: the WebChat component served by unihub (GET /webchat/hubster-webchat.js).
 * No dependencies; an open Shadow DOM styled by constructable stylesheets; no globals besides
 * the element and window.HUBSTER_CONFIG. Text is only ever set as textContent, never as HTML.
 * Foundation of issue 16: text messages only (see docs/webchat.md for what is still missing). */
(() => {
  'use strict';
  if (customElements.get('hubster-webchat')) return;

  // The origin this script was served from: the default engine and events endpoints.
  const SCRIPT_ORIGIN = (() => {
    try {
      const src = document.currentScript && document.currentScript.src;
      return src ? new URL(src).origin : location.origin;
    } catch (_) {
      return location.origin;
    }
  })();

  const CSS = `
:host { all: initial; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d1d1f; position: fixed; right: 1rem; bottom: 1rem; z-index: 2147483000; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.launcher { width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer;
  background: #2d6cdf; color: #fff; font-size: 26px; box-shadow: 0 2px 10px rgba(0,0,0,.25); }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible {
  outline: 3px solid #f5a623; outline-offset: 2px; }
.notice { max-width: 260px; padding: .6rem .8rem; border-radius: 8px; background: #fff;
  box-shadow: 0 2px 10px rgba(0,0,0,.2); font-size: 14px; }
.window { width: 360px; height: 520px; max-height: calc(100vh - 2rem); display: flex;
  flex-direction: column; background: #fff; border-radius: 10px; overflow: hidden;
  box-shadow: 0 4px 24px rgba(0,0,0,.25); }
header { display: flex; align-items: center; gap: .5rem; padding: .7rem .9rem;
  background: #2d6cdf; color: #fff; }
header h2 { flex: 1; margin: 0; font-size: 16px; font-weight: 600; }
.close { border: 0; background: transparent; color: inherit; font-size: 22px; cursor: pointer;
  line-height: 1; padding: .2rem .4rem; }
.log { flex: 1; overflow-y: auto; padding: .8rem; display: flex; flex-direction: column;
  gap: .4rem; background: #f6f7f9; }
.msg { max-width: 80%; padding: .5rem .7rem; border-radius: 12px; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.msg.customer { align-self: flex-end; background: #2d6cdf; color: #fff; }
.msg.agent, .msg.bot { align-self: flex-start; background: #e6e8ec; color: #1d1d1f; }
.msg.pending { opacity: .6; }
footer { display: flex; gap: .5rem; padding: .6rem; border-top: 1px solid #e2e4e8; }
textarea { flex: 1; resize: none; font: inherit; font-size: 16px; padding: .45rem .6rem;
  border: 1px solid #c9cdd4; border-radius: 8px; max-height: 120px; }
.send { border: 0; border-radius: 8px; padding: 0 .9rem; background: #2d6cdf; color: #fff;
  font: inherit; cursor: pointer; }
@media (max-width: 480px) {
  :host { right: 0; bottom: 0; }
  .window { width: 100vw; height: 100vh; max-height: none; border-radius: 0; }
}`;

  let sheet = null;
  const styles = () => {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    return sheet;
  };

  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const randomId = () =>
    (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16));

  class ApiFailure extends Error {
    constructor(status, body) {
      const first = body && body.errors && body.errors[0];
      super((first && first.description) || `HTTP ${status}`);
      this.status = status;
      this.code = first ? first.code : 0;
    }
  }

  class HubsterWebchat extends HTMLElement {
    constructor() {
      super();
      this._root = this.attachShadow({ mode: 'open' });
      this._root.adoptedStyleSheets = [styles()];
      this._seen = new Set(); // eventIds already shown
      this._ws = null;
      this._started = null;
      this._closed = false;
    }

    connectedCallback() {
      if (this._built) return;
      this._built = true;
      this._config = Object.assign({}, window.HUBSTER_CONFIG || {});
      const c = this._config;
      this._engine = String(c.engineEndpoint || SCRIPT_ORIGIN).replace(/\/+$/, '');
      this._events = String(c.eventsEndpoint || SCRIPT_ORIGIN).replace(/\/+$/, '');
      this._integrationId = String(c.integrationId || '');
      const styleCfg = c.styles || {};
      const header = styleCfg.header || {};
      const footer = styleCfg.footer || {};
      this._build(String(header.title || 'Chat'),
        String(footer.placeholderText || 'Please type here...'));
    }

    disconnectedCallback() {
      this._closed = true;
      if (this._ws) this._ws.close();
    }

    _build(title, placeholder) {
      const root = this._root;
      this._launcher = el('button', { class: 'launcher', type: 'button', 'aria-label': 'Open chat' }, '\u{1F4AC}');
      this._notice = el('div', { class: 'notice', role: 'status', hidden: '' });
      this._window = el('div', { class: 'window', role: 'dialog', 'aria-labelledby': 'hw-title', hidden: '' });
      const head = el('header');
      head.append(el('h2', { id: 'hw-title' }, title));
      this._close = el('button', { class: 'close', type: 'button', 'aria-label': 'Close chat' }, '\u00D7');
      head.append(this._close);
      this._log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
      const foot = el('footer');
      this._input = el('textarea', { rows: '1', placeholder, 'aria-label': placeholder });
      this._send = el('button', { class: 'send', type: 'button' }, 'Send');
      foot.append(this._input, this._send);
      this._window.append(head, this._log, foot);
      root.append(this._launcher, this._notice, this._window);

      this._launcher.addEventListener('click', () => this.open());
      this._close.addEventListener('click', () => this.close());
      this._send.addEventListener('click', () => this._submit());
      this._input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this._submit();
        }
      });
      this._window.addEventListener('keydown', (e) => {
        if (e.key === 'Escape') this.close();
      });
    }

    open() {
      this._launcher.hidden = true;
      this._window.hidden = false;
      this._input.focus();
      this._start();
    }

    close() {
      this._window.hidden = true;
      this._launcher.hidden = false;
      this._launcher.focus();
    }

    // --- the conversation -------------------------------------------------------------

    _storageKey() {
      return `hubster-webchat:${this._integrationId}`;
    }

    _load() {
      try {
        return JSON.parse(localStorage.getItem(this._storageKey()) || '{}') || {};
      } catch (_) {
        return {};
      }
    }

    _save(patch) {
      const state = Object.assign(this._load(), patch);
      try {
        localStorage.setItem(this._storageKey(), JSON.stringify(state));
      } catch (_) { /* storage full or refused: the chat still works for this page */ }
      return state;
    }

    async _api(method, path, body, token) {
      const headers = {};
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      if (token) headers.Authorization = `Bearer ${token}`;
      const r = await fetch(this._engine + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        mode: 'cors',
      });
      const text = await r.text();
      let data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch (_) { /* not JSON */ }
      if (!r.ok) throw new ApiFailure(r.status, data);
      return data;
    }

    _start() {
      if (!this._started) {
        this._started = this._connect().catch((err) => {
          this._started = null;
          this._fail(err);
        });
      }
      return this._started;
    }

    async _connect() {
      if (!this._integrationId) throw new Error('HUBSTER_CONFIG.integrationId is missing');
      const id = encodeURIComponent(this._integrationId);
      await this._api('GET', `/api/v1/integrations/web-chat/config/${id}`);
      const token = await this._api('GET', `/api/v1/integrations/web-chat/token/${id}`);
      this._token = token.access_token;
      let state = this._load();
      if (!state.binding) state = this._save({ binding: `webchat-${randomId()}` });
      const established = await this._api('POST', '/api/v1/conversations/establish', {
        integrationId: this._integrationId,
        binding: state.binding,
        channelType: 'WebChat',
      }, this._token);
      if (established.conversationId !== state.conversationId) {
        state = this._save({ conversationId: established.conversationId, leid: 0 });
      }
      this._conversationId = established.conversationId;
      this._listen();
    }

    _listen() {
      if (this._closed) return;
      const url = new URL(this._events.replace(/^http/, 'ws') + '/api/v1/events/ws');
      url.searchParams.set('integrationId', this._integrationId);
      url.searchParams.set('conversationId', this._conversationId);
      // Fresh page: the whole history (the log starts empty); later: resume after the cursor.
      url.searchParams.set('leid', String(this._seen.size ? this._load().leid || 0 : 0));
      url.searchParams.set('access_token', this._token);
      const ws = new WebSocket(url.toString());
      this._ws = ws;
      ws.addEventListener('message', (e) => {
        let frame;
        try {
          frame = JSON.parse(e.data);
        } catch (_) {
          return;
        }
        if (frame && frame.activity) this._receive(frame.activity);
      });
      ws.addEventListener('close', () => {
        if (this._ws === ws && !this._closed) setTimeout(() => this._listen(), 2000);
      });
    }

    _receive(activity) {
      const eventId = Number(activity.eventId);
      if (this._seen.has(eventId)) return;
      this._seen.add(eventId);
      if (eventId > (this._load().leid || 0)) this._save({ leid: eventId });
      const message = activity.message;
      if (activity.type !== 'message' || !message || message.type !== 'text') return;
      const sender = activity.sender || {};
      const mine = sender.integrationId && String(sender.integrationId).toLowerCase()
        === this._integrationId.toLowerCase();
      if (mine) {
        const pending = this._log.querySelector(`[data-event-id="${eventId}"]`);
        if (pending) {
          pending.classList.remove('pending');
          return;
        }
      }
      const who = mine ? 'customer' : (sender.integrationType === 'Bot' ? 'bot' : 'agent');
      this._bubble(String(message.text || ''), who, eventId);
    }

    _bubble(text, who, eventId) {
      const node = el('div', { class: `msg ${who}` }, text);
      if (eventId !== undefined) node.dataset.eventId = String(eventId);
      this._log.append(node);
      this._log.scrollTop = this._log.scrollHeight;
      return node;
    }

    async _submit() {
      const text = this._input.value;
      if (!text.trim()) return;
      this._input.value = '';
      const bubble = this._bubble(text, 'customer');
      bubble.classList.add('pending');
      try {
        await this._start();
        if (!this._conversationId) throw new Error('no conversation');
        const ack = await this._api('POST',
          `/inbound/customer/v1/web-chat/${encodeURIComponent(this._conversationId)}`,
          { type: 'message', message: { type: 'text', text } }, this._token);
        const eventId = ack && Number(ack.eventId);
        if (eventId && this._seen.has(eventId)) {
          // The socket showed it first: keep the one bubble, in the socket's order.
          const shown = this._log.querySelector(`[data-event-id="${eventId}"]`);
          if (shown && shown !== bubble) bubble.remove();
          else bubble.classList.remove('pending');
        } else if (eventId) {
          this._seen.add(eventId);
          bubble.dataset.eventId = String(eventId);
          bubble.classList.remove('pending');
        }
      } catch (err) {
        bubble.classList.remove('pending');
        bubble.append(el('div', { class: 'failed' }, 'Not delivered'));
        console.warn('hubster-webchat: message not sent:', err.message);
      }
    }

    _fail(err) {
      let text = 'Chat is unavailable right now.';
      if (err instanceof ApiFailure) {
        if (err.status === 403) text = 'Chat is not available on this site.';
        else if (err.code === 6502 || err.status === 404) text = 'Chat is currently unavailable.';
      }
      console.warn(`hubster-webchat: ${err.message}`);
      this._window.hidden = true;
      this._launcher.hidden = true;
      this._notice.textContent = text;
      this._notice.hidden = false;
    }
  }

  customElements.define('hubster-webchat', HubsterWebchat);
})();

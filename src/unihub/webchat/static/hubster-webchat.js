/* <hubster-webchat>: the WebChat component served by unihub (GET /webchat/hubster-webchat.js).
 * No dependencies and no globals besides the element and window.HUBSTER_CONFIG. Everything
 * lives in an open Shadow DOM styled by constructable stylesheets, so a strict CSP (no
 * unsafe-inline, no unsafe-eval) holds. Text from the conversation only ever becomes
 * textContent; URLs become links only when they are http(s) (docs/webchat.md). */
(() => {
  'use strict';
  if (customElements.get('hubster-webchat')) return;

  const SCRIPT_ORIGIN = (() => {
    try {
      const src = document.currentScript && document.currentScript.src;
      return src ? new URL(src).origin : location.origin;
    } catch (_) {
      return location.origin;
    }
  })();
  const PREFIX = 'hubster-webchat:';
  const TOKEN_MARGIN_MS = 5 * 60 * 1000; // renew the visitor token this long before it expires
  const TYPING_MS = 30 * 1000;
  const PAGE = 1000; // the activities endpoint's page size
  const SEND_TRIES = 3; // online attempts before "Not delivered"
  const VARIANTS = ['primary', 'info', 'secondary', 'success', 'warning', 'danger'];
  const POSITION = new Set(['top', 'right', 'bottom', 'left', 'z-index']);

  const CSS = `
:host { all: initial; position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
  --accent: #8c8ff5; --accent-dark: #5f63e8; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; }
:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
/* Inherited from the host element otherwise, where a page's !important beats :host. */
.launcher, .notice, .window { color: #1d1d1f;
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  letter-spacing: normal; word-spacing: normal; text-transform: none; text-align: start;
  text-indent: 0; text-shadow: none; white-space: normal; }
.launcher { position: relative; width: 60px; height: 60px; border-radius: 50%; border: 0;
  cursor: pointer; background: var(--accent); color: #fff; display: grid; place-items: center;
  box-shadow: 0 2px 12px rgba(0,0,0,.25); padding: 0; }
.launcher img { width: 34px; height: 34px; object-fit: contain; }
.launcher svg, header svg { width: 30px; height: 30px; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px;
  border-radius: 11px; background: #dc3545; color: #fff; font-size: 12px; line-height: 22px;
  padding: 0 6px; }
.notice { max-width: 280px; padding: 9.6px 12.8px; border-radius: 8px; background: #fff;
  box-shadow: 0 2px 10px rgba(0,0,0,.2); font-size: 14px; display: flex; gap: 8px;
  align-items: center; }
.notice button { border: 1px solid #888; background: #fff; border-radius: 6px; cursor: pointer; }
.window { position: relative; width: 370px; height: 600px; max-height: calc(100vh - 32px);
  display: flex; flex-direction: column; background: #fff; border-radius: 10px;
  overflow: hidden; box-shadow: 0 4px 24px rgba(0,0,0,.25); }
:host(.full.open) { inset: 0; }
:host(.full.open) .window { width: 100vw; height: 100vh; height: 100dvh; max-height: none;
  border-radius: 0; }
header { display: flex; align-items: center; gap: 9.6px; padding: 12.8px 16px;
  background: var(--accent); color: #fff; }
header img { width: 30px; height: 30px; object-fit: contain; }
header h2 { flex: 1; margin: 0; font-size: 17px; font-weight: 500; }
.close { border: 0; background: transparent; color: inherit; font-size: 26px; cursor: pointer;
  line-height: 1; padding: 1.6px 6.4px; }
.log { flex: 1; overflow-y: auto; padding: 12.8px; display: flex; flex-direction: column;
  gap: 8px; background: #fff; }
.msg { display: flex; flex-direction: column; max-width: 86%; align-self: flex-start; }
.msg.customer { align-self: flex-end; align-items: flex-end; }
.msg.wide { max-width: 100%; width: 100%; }
.bubble { padding: 9.6px 13.6px; border-radius: 12px; background: #ececfd; color: #1d1d1f;
  white-space: pre-wrap; overflow-wrap: anywhere; display: flex; flex-direction: column;
  gap: 8px; max-width: 100%; }
.msg.customer .bubble { background: var(--accent); color: #fff; }
.msg.customer .bubble a { color: inherit; }
.msg.bot .bubble { background: #eef3ee; }
.bubble.bare { padding: 0; background: transparent !important; }
.meta { font-size: 11px; color: #70757d; margin: 2px 4px 0; display: flex; gap: 6.4px;
  align-items: center; }
.msg.pending .bubble { opacity: .6; }
.failed { color: #b3261e; font-weight: 600; }
.retry { border: 1px solid #b3261e; color: #b3261e; background: #fff; border-radius: 6px;
  cursor: pointer; font-size: 11px; padding: 0 6.4px; }
.row { display: flex; flex-wrap: wrap; gap: 6.4px; }
.btn { border: 1px solid; border-radius: 5px; padding: 6.4px 14.4px; cursor: pointer;
  text-decoration: none; font-size: 14px; display: inline-block; text-align: center;
  white-space: normal; }
.postback { color: #fff; }
.postback.primary { background: #3b82f6; border-color: #3b82f6; }
.postback.info { background: #0e9aa7; border-color: #0e9aa7; }
.postback.secondary { background: #6b7280; border-color: #6b7280; }
.postback.success { background: #16a34a; border-color: #16a34a; }
.postback.warning { background: #f59e0b; border-color: #f59e0b; color: #1d1d1f; }
.postback.danger { background: #dc3545; border-color: #dc3545; }
.postback:hover { filter: brightness(.92); }
.quick, .link { background: #fff; border-radius: 10px; }
.quick { border-radius: 16px; }
.primary:is(.quick, .link, .item-btn) { color: #3b82f6; border-color: #3b82f6; }
.info:is(.quick, .link, .item-btn) { color: #0e8a96; border-color: #0e9aa7; }
.secondary:is(.quick, .link, .item-btn) { color: #555b66; border-color: #6b7280; }
.success:is(.quick, .link, .item-btn) { color: #15803d; border-color: #16a34a; }
.warning:is(.quick, .link, .item-btn) { color: #a15c00; border-color: #f59e0b; }
.danger:is(.quick, .link, .item-btn) { color: #c0262f; border-color: #dc3545; }
.quick:hover, .link:hover { background: #f1f4ff; }
.quicks { align-self: flex-end; justify-content: flex-end; max-width: 100%; }
.media { width: 100%; max-width: 300px; border-radius: 8px; display: block; background: #000; }
.frame { width: 300px; max-width: 100%; aspect-ratio: 16 / 9; border: 0; border-radius: 8px;
  background: #111; }
audio { width: 280px; max-width: 100%; }
.fig { margin: 0; display: flex; flex-direction: column; gap: 5px; }
.image-btn { position: relative; border: 0; padding: 0; background: none; cursor: zoom-in;
  display: block; max-width: 300px; }
.image-btn img, .card img.cover { width: 100%; display: block; border-radius: 8px; }
.caption { position: absolute; left: 0; right: 0; bottom: 0; padding: 5.6px 9.6px;
  background: rgba(0,0,0,.55); color: #fff; font-weight: 600; letter-spacing: .03em;
  border-radius: 0 0 8px 8px; text-align: left; }
.attachment { display: flex; gap: 8px; align-items: center; padding: 8px 11.2px;
  border: 1px solid #c9cdd4; border-radius: 8px; background: #fff; color: #1d1d1f;
  text-decoration: none; }
.attachment small, .location small { color: #70757d; }
.attachment svg, .location svg { width: 20px; height: 20px; flex: none; }
.location { display: flex; gap: 8px; align-items: flex-start; padding: 8px 11.2px;
  border: 1px solid #c9cdd4; border-radius: 8px; background: #fff; white-space: normal; }
.location a { color: #2f5fd0; }
.card { width: 270px; max-width: 100%; border: 1px solid #d5d8de; border-radius: 8px;
  overflow: hidden; background: #fff; color: #1d1d1f; display: flex; flex-direction: column;
  white-space: normal; flex: 0 0 auto; }
.card .top { position: relative; }
.card .top .caption, .card img.cover { border-radius: 0; }
.card .frame, .card .media { border-radius: 0; width: 100%; max-width: none; }
.card .body { padding: 8.8px 11.2px; font-size: 13px; display: flex; flex-direction: column;
  gap: 3.2px; }
.card h3 { margin: 0; font-size: 14px; }
.card .sub { font-weight: 600; color: #555b66; }
.card .content { color: #444; }
.card .prop b { font-weight: 600; }
.card a { color: #2f5fd0; }
.item-btn { border-width: 1px 0 0; border-radius: 0; background: #fff; width: 100%;
  padding: 8px; }
.item-btn:hover { background: #f1f4ff; }
.carousel { position: relative; width: 100%; }
.track { display: flex; gap: 9.6px; overflow-x: auto; scroll-snap-type: x mandatory;
  scroll-behavior: smooth; padding-bottom: 4.8px; }
.track > .card { scroll-snap-align: start; }
.nav { position: absolute; top: 40%; width: 34px; height: 34px; border-radius: 50%;
  border: 0; background: rgba(0,0,0,.55); color: #fff; cursor: pointer; font-size: 18px; z-index: 1; }
.nav.prev { left: 4px; } .nav.next { right: 4px; }
.list { display: flex; flex-direction: column; gap: 9.6px; width: 100%; }
.list .card { width: 100%; }
.list-btn { width: 100%; color: #fff; border: 0; border-radius: 0; padding: 7.2px;
  background: #3266e3; font-weight: 600; }
.list-actions { display: flex; flex-direction: column; gap: 1px; }
.list-btn.info { background: #0e9aa7; } .list-btn.secondary { background: #6b7280; }
.list-btn.success { background: #16a34a; } .list-btn.warning { background: #f59e0b; }
.list-btn.danger { background: #dc3545; }
.transfer { align-self: center; font-size: 13px; text-align: center; }
.transfer a { color: #2f5fd0; }
.typing { align-self: flex-start; padding: 9.6px 13.6px; border-radius: 12px;
  background: #ececfd; display: flex; gap: 4px; }
.typing i { width: 7px; height: 7px; border-radius: 50%; background: #8b8fa0;
  animation: blink 1.2s infinite both; }
.typing i:nth-child(2) { animation-delay: .2s; } .typing i:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .3; } 40% { opacity: 1; } }
.status { font-size: 12px; text-align: center; color: #70757d; padding: 3.2px; }
.status:empty { padding: 0; line-height: 0; }
footer { display: flex; gap: 6.4px; padding: 9.6px 11.2px; background: #f2f2fb;
  align-items: flex-end; }
textarea { flex: 1; resize: none; font: inherit; font-size: 16px; padding: 8px 9.6px;
  border: 1px solid transparent; border-radius: 8px; background: transparent; color: inherit;
  max-height: 120px; min-height: 40px; }
textarea:focus { background: #fff; border-color: #c9cdd4; outline: none; }
.send { border: 0; background: transparent; cursor: pointer; padding: 6.4px; color: #555b66;
  width: 44px; height: 40px; }
.send svg { width: 24px; height: 24px; }
.lightbox { position: absolute; inset: 0; background: rgba(0,0,0,.85); display: flex;
  align-items: center; justify-content: center; padding: 16px; z-index: 2; }
.lightbox img { max-width: 100%; max-height: 100%; }
.lightbox button { position: absolute; top: 8px; right: 8px; border: 0;
  background: transparent; color: #fff; font-size: 28px; cursor: pointer; }
.gallery-note { font-size: 12px; color: #555b66; text-align: center; }
@media (max-width: 480px) {
  :host(.open) { inset: 0; }
  :host(.open) .window { width: 100vw; height: 100vh; height: 100dvh; max-height: none;
    border-radius: 0; }
}`;

  const dot = (cx) => ['circle', { cx, cy: 12, r: 1, fill: 'currentColor' }];
  const ICON_CHAT = [['path', { d: 'M12 3a9 9 0 0 0-7.8 13.5L3 21l4.6-1.2A9 9 0 1 0 12 3z' }], dot(8), dot(12), dot(16)];
  const ICON_SEND = [['path', { d: 'M3 20l18-8L3 4l3 8-3 8zM6 12h8' }]];
  const ICON_CLIP = [['path', { d: 'M20 11.5l-7.8 7.8a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8' }]];
  const ICON_PIN = [['path', { d: 'M12 21s-6.5-5.6-6.5-11a6.5 6.5 0 0 1 13 0c0 5.4-6.5 11-6.5 11z' }], ['circle', { cx: 12, cy: 10, r: 2.4 }]];

  let baseSheet = null;
  const base = () => {
    if (!baseSheet) {
      baseSheet = new CSSStyleSheet();
      baseSheet.replaceSync(CSS);
    }
    return baseSheet;
  };
  // Built node by node: no markup is ever parsed (Trusted Types and strict CSPs hold).
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const svg = (shapes) => {
    const make = (tag, attrs) => {
      const n = document.createElementNS(SVG_NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      return n;
    };
    const root = make('svg', { viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.6, 'aria-hidden': 'true' });
    for (const [tag, attrs] of shapes) root.append(make(tag, attrs));
    return root;
  };

  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  };
  const str = (v) => (v === undefined || v === null ? '' : String(v));
  const lower = (v) => str(v).toLowerCase();
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID()
    : 'x'.repeat(32).replace(/x/g, () => Math.floor(Math.random() * 16).toString(16)));
  const get = (obj, key) => {
    // Activities arrive in the documented camelCase; the .NET client may send PascalCase.
    if (!obj || typeof obj !== 'object') return undefined;
    if (key in obj) return obj[key];
    const want = key.toLowerCase();
    for (const k of Object.keys(obj)) if (k.toLowerCase() === want) return obj[k];
    return undefined;
  };
  const list = (v) => (Array.isArray(v) ? v : []);
  // What a sent message and the server's copy of it share (the server may add fields).
  const signature = (message) => `${lower(get(message, 'type'))}\n${str(get(message, 'text'))}`;

  /** An http(s) URL (a scheme-less "host/path" gets https), else null: never javascript:. */
  const safeUrl = (value, extra) => {
    const raw = str(value).trim();
    if (!raw) return null;
    const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(raw) ? raw
      : (/^\/\//.test(raw) ? 'https:' + raw : 'https://' + raw);
    try {
      const u = new URL(withScheme);
      if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
      if (extra && extra.includes(u.protocol)) return u.href;
    } catch (_) { /* not a URL */ }
    return null;
  };
  /** An image source: http(s), or an inline `data:image/...` picture (the styling gallery's
   * samples: no request). An <img> never runs a script, whatever the picture holds. */
  const imageUrl = (value) => (/^data:image\/(png|gif|jpeg|webp|svg\+xml)[;,]/i.test(str(value).trim())
    ? str(value).trim() : safeUrl(value));
  const externalLink = (href, attrs, ...children) =>
    el('a', Object.assign({ href, target: '_blank', rel: 'noopener noreferrer' }, attrs || {}), ...children);

  const URL_IN_TEXT = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
  /** Text with its URLs as links; line breaks stay (white-space: pre-wrap). */
  const linkified = (text) => {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of text.matchAll(URL_IN_TEXT)) {
      let found = m[0];
      while (/[.,;:!?)\]]$/.test(found) && !(found.endsWith(')') && found.includes('('))) {
        found = found.slice(0, -1);
      }
      const href = safeUrl(found.startsWith('www.') ? 'https://' + found : found);
      if (!href) continue;
      frag.append(text.slice(last, m.index), externalLink(href, {}, found));
      last = m.index + found.length;
    }
    frag.append(text.slice(last));
    return frag;
  };

  /** `channels[type=Webchat].metadata` as a key -> value map. */
  const webchatMeta = (node) => {
    const out = {};
    for (const ch of list(get(node, 'channels'))) {
      if (lower(get(ch, 'type')) !== 'webchat') continue;
      for (const m of list(get(ch, 'metadata'))) out[lower(get(m, 'key'))] = str(get(m, 'value'));
    }
    return out;
  };
  const variant = (node, fallback) => {
    const v = lower(webchatMeta(node).type);
    return VARIANTS.includes(v) ? v : fallback;
  };

  const youtubeId = (url) => {
    const u = safeUrl(url);
    if (!u) return null;
    const p = new URL(u);
    const host = p.hostname.replace(/^(www|m)\./, '');
    let id = null;
    if (host === 'youtube.com' || host === 'youtube-nocookie.com' || host === 'youtu.be') {
      id = p.searchParams.get('v');
      if (!id) {
        const parts = p.pathname.split('/').filter(Boolean);
        if (host === 'youtu.be') id = parts[0];
        else if (['embed', 'shorts', 'v', 'live'].includes(parts[0])) id = parts[1];
      }
    }
    return id && /^[\w-]{1,64}$/.test(id) ? id : null;
  };
  const vimeoId = (url) => {
    const u = safeUrl(url);
    if (!u) return null;
    const p = new URL(u);
    if (!/(^|\.)vimeo\.com$/.test(p.hostname)) return null;
    const m = p.pathname.match(/(?:^|\/)(\d{1,20})(?:\/|$)/);
    return m ? m[1] : null;
  };

  const when = (eventId) => {
    const ms = Number(eventId);
    return ms > 1e12 ? new Date(ms) : new Date();
  };
  const CLOCK = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
  const timeOf = (date) => el('time', { datetime: date.toISOString() }, CLOCK.format(date));

  /** camelCase (`backgroundColor`) or hyphenated (`background-color`) -> the CSS property. */
  const cssName = (key) => (key.includes('-') ? key.toLowerCase()
    : key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));

  /** The host's `styles` as one more constructable stylesheet. Values go through CSSOM
   * `setProperty` one by one, so a value can never open another rule. */
  const themeSheet = (styles) => {
    const sheet = new CSSStyleSheet();
    const rule = (selector, decl, filter) => {
      if (!decl || typeof decl !== 'object') return;
      const index = sheet.insertRule(`${selector} {}`, sheet.cssRules.length);
      const style = sheet.cssRules[index].style;
      for (const [k, v] of Object.entries(decl)) {
        const name = cssName(k);
        if (filter && !filter(name)) continue;
        if (typeof v === 'string' || typeof v === 'number') style.setProperty(name, String(v), 'important');
      }
    };
    const s = styles || {};
    const pick = (obj, ...keys) => {
      for (const k of keys) if (obj && obj[k] !== undefined) return obj[k];
      return undefined;
    };
    const bg = pick(s, 'chatBackgroundColor', 'chat-background-color');
    if (bg !== undefined) rule('.log', { backgroundColor: bg });
    rule('.msg.customer .bubble', pick(s, 'userTextMessage', 'user-text-message'));
    rule('.msg.agent .bubble', pick(s, 'agentTextMessage', 'agent-text-message'));
    rule('.msg.bot .bubble', pick(s, 'botTextMessage', 'bot-text-message'));
    const header = pick(s, 'header') || {};
    rule('header', pick(header, 'style'));
    const mount = pick(s, 'mount') || {};
    rule(':host', pick(mount, 'style'), (n) => POSITION.has(n));
    rule('.launcher', pick(mount, 'style'), (n) => !POSITION.has(n));
    const footer = pick(s, 'footer') || {};
    const maxInput = pick(footer, 'maxInputHeight', 'max-input-height');
    if (maxInput !== undefined) rule('textarea', { maxHeight: maxInput });
    const groups = [['buttons', '.postback'], ['quickReplies', '.quick'], ['links', '.link'],
      ['listButtons', '.list-btn'], ['listItemButtons', '.item-btn']];
    for (const [key, cls] of groups) {
      const g = pick(s, key, cssName(key)) || {};
      for (const v of VARIANTS) {
        rule(`${cls}.${v}`, pick(g, v));
        rule(`${cls}.${v}:hover, ${cls}.${v}:focus-visible`, pick(g, `${v}Hover`, `${v}-hover`));
      }
    }
    return sheet;
  };

  class ApiFailure extends Error {
    constructor(status, body) {
      const first = body && Array.isArray(body.errors) && body.errors[0];
      super((first && first.description) || `HTTP ${status}`);
      this.status = status;
      this.code = first ? Number(first.code) : 0;
    }
  }
  class Offline extends Error {}

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const backoff = (attempt) => Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);

  class HubsterWebchat extends HTMLElement {
    constructor() {
      super();
      this._root = this.attachShadow({ mode: 'open' });
      this._root.adoptedStyleSheets = [base()];
      this._seen = new Set(); // eventIds on screen
      this._max = 0; // the largest eventId received: the socket resumes after it
      this._ws = null;
      this._wsTries = 0;
      this._gone = false;
      this._ready = null; // the promise of a usable conversation
      this._flushing = false;
      this._typing = null;
    }

    connectedCallback() {
      if (this._built) return;
      this._built = true;
      const c = (this._config = Object.assign({}, window.HUBSTER_CONFIG || {}));
      this._engine = str(c.engineEndpoint || SCRIPT_ORIGIN).replace(/\/+$/, '');
      this._events = str(c.eventsEndpoint || c.engineEndpoint || SCRIPT_ORIGIN).replace(/\/+$/, '');
      this._integrationId = str(c.integrationId).trim();
      this._ttlMs = (Number(c.sessionTTL) > 0 ? Number(c.sessionTTL) : 1440) * 60000;
      try {
        this._root.adoptedStyleSheets = [base(), themeSheet(c.styles)];
      } catch (err) {
        console.warn(`hubster-webchat: styles ignored (${err.message})`);
      }
      if (c.fullWindow) this.classList.add('full');
      this._build();
      if (c.styling) {
        this._gallery();
        return;
      }
      if (!this._integrationId) {
        this._fail(new Error('HUBSTER_CONFIG.integrationId is missing'));
        return;
      }
      this._onStorage = (e) => { if (e.key === this._key()) this._otherTab(); };
      this._onOnline = () => { this._reconnectNow(); this._flush(); };
      window.addEventListener('storage', this._onStorage);
      window.addEventListener('online', this._onOnline);
      this._boot();
    }

    disconnectedCallback() {
      this._gone = true;
      if (this._ws) this._ws.close();
      clearTimeout(this._renewTimer);
      window.removeEventListener('storage', this._onStorage);
      window.removeEventListener('online', this._onOnline);
    }

    _call(name, ...args) {
      const fn = this._config[name];
      if (typeof fn !== 'function') return undefined;
      try {
        return fn.apply(this._config, args);
      } catch (err) {
        console.warn(`hubster-webchat: HUBSTER_CONFIG.${name} threw: ${err && err.message}`);
        return undefined;
      }
    }

    // --- the element's parts ---------------------------------------------------------------

    _build() {
      const styles = this._config.styles || {};
      const header = styles.header || {};
      const footer = styles.footer || {};
      const mount = styles.mount || {};
      const title = str(header.title) || 'Chat';
      const placeholder = str(footer.placeholderText || footer['placeholder-text']) || 'Please type here...';
      const icon = (url) => {
        const src = safeUrl(url);
        return src ? el('img', { src, alt: '' }) : svg(ICON_CHAT);
      };
      this._launcher = el('button', { class: 'launcher', type: 'button', 'aria-label': 'Open chat' },
        icon(mount.iconUrl));
      this._badge = el('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
      this._launcher.append(this._badge);
      this._notice = el('div', { class: 'notice', role: 'status', hidden: true });
      this._window = el('div', { class: 'window', role: 'dialog', 'aria-labelledby': 'hw-title', hidden: true });
      const head = el('header', {}, icon(header.iconUrl), el('h2', { id: 'hw-title' }, title));
      if (!this._config.hideCloseIcon) {
        const close = el('button', { class: 'close', type: 'button', 'aria-label': 'Close chat' }, '\u00D7');
        close.addEventListener('click', () => this.close());
        head.append(close);
      }
      this._log = el('div', { class: 'log', role: 'log', 'aria-label': 'Messages', tabindex: '0' });
      this._status = el('div', { class: 'status', role: 'status' });
      this._input = el('textarea', { rows: '1', placeholder, 'aria-label': placeholder });
      this._sendBtn = el('button', { class: 'send', type: 'button', 'aria-label': 'Send' }, svg(ICON_SEND));
      this._window.append(head, this._log, this._status, el('footer', {}, this._input, this._sendBtn));
      this._root.append(this._launcher, this._notice, this._window);

      this._launcher.addEventListener('click', () => this.open());
      this._sendBtn.addEventListener('click', () => this._submit());
      this._input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this._submit();
        }
      });
      this._input.addEventListener('input', () => this._grow());
      this._window.addEventListener('keydown', (e) => {
        if (e.key === 'Tab') this._wrapFocus(e);
        if (e.key !== 'Escape') return;
        const box = this._root.querySelector('.lightbox');
        if (box) box.remove();
        else if (!this._config.hideCloseIcon) this.close();
      });
    }

    /** Tab and Shift+Tab go round the window's controls rather than out of it; Escape leaves
     * (so without a close button, hideCloseIcon, Tab leaves as usual: never a keyboard trap). */
    _wrapFocus(e) {
      if (this._config.hideCloseIcon) return;
      const all = [...this._window.querySelectorAll('button, a[href], textarea, iframe, [controls], [tabindex]:not([tabindex="-1"])')]
        .filter((n) => !n.disabled && n.getClientRects().length);
      const here = this._root.activeElement;
      if (!all.length) return;
      if (e.shiftKey ? here === all[0] : here === all[all.length - 1]) {
        e.preventDefault();
        (e.shiftKey ? all[all.length - 1] : all[0]).focus();
      }
    }

    _grow() {
      this._input.style.height = 'auto';
      this._input.style.height = `${this._input.scrollHeight + 2}px`;
    }

    get isOpen() {
      return !this._window.hidden;
    }

    open() {
      if (!this._window.hidden) return;
      this._launcher.hidden = true;
      this._notice.hidden = true;
      this._window.hidden = false;
      this.classList.add('open');
      this._badge.hidden = true;
      this._badge.textContent = '';
      this._log.scrollTop = this._log.scrollHeight;
      this._input.focus();
      if (!this._config.styling) {
        this._patch({ open: true });
        this._start(true).catch(() => {});
      }
      this._call('onMount', true);
    }

    close() {
      if (this._window.hidden) return;
      this._window.hidden = true;
      this.classList.remove('open');
      this._launcher.hidden = false;
      this._launcher.focus();
      if (!this._config.styling) this._patch({ open: false });
      this._call('onMount', false);
    }

    // --- stored session: one localStorage key per integration --------------------------------

    _key() {
      return PREFIX + this._integrationId.toLowerCase();
    }

    _state() {
      try {
        const v = JSON.parse(localStorage.getItem(this._key()) || '{}');
        return v && typeof v === 'object' ? v : {};
      } catch (_) {
        return {};
      }
    }

    _patch(patch) {
      const state = Object.assign(this._state(), patch);
      try {
        localStorage.setItem(this._key(), JSON.stringify(state));
      } catch (_) { /* storage refused: the chat still works for this page */ }
      return state;
    }

    _touch() {
      this._patch({ lastActive: Date.now() });
    }

    _expired(state) {
      return Boolean(state.conversationId) && Date.now() - Number(state.lastActive || 0) > this._ttlMs;
    }

    // --- start-up ----------------------------------------------------------------------------

    /** The launcher shows once the server says this page may chat (config endpoint). */
    _boot() {
      this._launcher.hidden = true;
      const id = encodeURIComponent(this._integrationId);
      this._configReady = this._api('GET', `/api/v1/integrations/web-chat/config/${id}`, undefined, false);
      this._configReady.then(() => {
        if (!this._failed && this._window.hidden) this._launcher.hidden = false;
      }, (err) => this._fail(err));
      this._resume(); // a stored session loads beside the config request, not after it
    }

    _resume() {
      if (this._resumed) return;
      this._resumed = true;
      let state = this._state();
      if (this._expired(state)) {
        // Rolling TTL passed: the next conversation is a new one; close the old one when a
        // token is at hand (with a host binding key, establish would return it otherwise).
        state = this._patch({ conversationId: null, leid: 0, expiredConversation: state.conversationId,
          binding: null, outbox: [] });
      }
      this._touch();
      for (const item of list(state.outbox)) this._pendingBubble(item);
      const transfer = state.mountAfter;
      let delay;
      if (transfer !== undefined && transfer !== null) {
        this._patch({ mountAfter: null });
        delay = Number(transfer);
      } else if (typeof this._config.mountOnLoad === 'function') {
        delay = Number(this._call('mountOnLoad'));
      } else {
        delay = state.open ? 0 : -1;
      }
      if (state.conversationId || list(state.outbox).length) {
        this._start(false).catch(() => {});
      }
      if (Number.isFinite(delay) && delay >= 0) setTimeout(() => this.open(), delay);
    }

    /** The conversation, ready to post to and followed live. `establish`: a user opened the
     * chat, so a conversation may be created and a stored one confirmed as still open. */
    _start(establish) {
      if (!this._ready || (establish && !this._established)) {
        const previous = this._ready;
        this._ready = (async () => {
          if (previous) await previous.catch(() => {});
          await this._connect(establish);
        })();
        this._ready.catch((err) => {
          this._ready = null;
          if (err instanceof Offline && this._conversationId && !this._gone) {
            // The network dropped while a conversation is on screen: try again, keep the chat.
            this._status.textContent = 'Connection lost. Reconnecting\u2026';
            setTimeout(() => this._start(establish).then(() => { this._status.textContent = ''; }, () => {}),
              backoff(this._wsTries++));
            return;
          }
          this._fail(err);
        });
      }
      return this._ready;
    }

    async _connect(establish) {
      await Promise.all([this._configReady, this._token()]);
      const state = this._state();
      if (state.expiredConversation) {
        await this._api('POST', `/api/v1/conversations/${encodeURIComponent(state.expiredConversation)}/close`, {})
          .catch(() => {}); // best effort: it may already be closed
        this._patch({ expiredConversation: null });
      }
      if (establish || !state.conversationId) await this._establish();
      else this._use(state.conversationId);
      await this._history();
      this._listen();
      this._flush();
    }

    async _establish() {
      let state = this._state();
      const given = this._call('onConversation') || {};
      const bindingKey = str(get(given, 'bindingKey')).trim();
      const binding = bindingKey || state.binding || `webchat-${uuid()}`;
      if (binding !== state.binding) state = this._patch({ binding });
      const body = { integrationId: this._integrationId, binding, channelType: 'WebChat' };
      const props = get(given, 'properties');
      if (props && typeof props === 'object') body.properties = props;
      const established = await this._api('POST', '/api/v1/conversations/establish', body);
      this._established = true;
      this._use(established.conversationId);
    }

    _use(conversationId) {
      const state = this._state();
      if (conversationId !== state.conversationId) this._patch({ conversationId, leid: 0 });
      if (conversationId !== this._conversationId) {
        this._conversationId = conversationId;
        this._reset();
      }
    }

    _reset() {
      this._seen.clear();
      this._max = 0;
      for (const node of [...this._log.children]) if (!node.classList.contains('pending')) node.remove();
      if (this._ws) {
        const ws = this._ws;
        this._ws = null;
        ws.close();
      }
    }

    async _token() {
      const state = this._state();
      if (state.token && Number(state.tokenExp) - Date.now() > TOKEN_MARGIN_MS) {
        this._scheduleRenewal(Number(state.tokenExp));
        return state.token;
      }
      const id = encodeURIComponent(this._integrationId);
      const got = await this._api('GET', `/api/v1/integrations/web-chat/token/${id}`, undefined, false);
      const exp = Date.now() + Number(got.expires_in) * 60000; // minutes, as the reference sends it
      this._patch({ token: got.access_token, tokenExp: exp });
      this._scheduleRenewal(exp);
      return got.access_token;
    }

    _scheduleRenewal(exp) {
      clearTimeout(this._renewTimer);
      const wait = Math.max(1000, exp - Date.now() - TOKEN_MARGIN_MS + 1000);
      this._renewTimer = setTimeout(() => {
        this._token().catch((err) => console.warn(`hubster-webchat: token renewal failed: ${err.message}`));
      }, Math.min(wait, 2 ** 31 - 1));
    }

    async _api(method, path, body, auth = true, headers = {}) {
      const send = async () => {
        const h = Object.assign({}, headers);
        if (body !== undefined) h['Content-Type'] = 'application/json';
        if (auth) h.Authorization = `Bearer ${this._state().token}`;
        let r;
        try {
          r = await fetch(this._engine + path, {
            method, headers: h, credentials: 'omit', mode: 'cors', cache: 'no-store',
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        } catch (err) {
          throw new Offline(`cannot reach ${this._engine} (${err.message})`);
        }
        const text = await r.text();
        let data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (_) { /* not JSON */ }
        if (!r.ok) throw new ApiFailure(r.status, data);
        return data;
      };
      try {
        return await send();
      } catch (err) {
        if (!(auth && err instanceof ApiFailure && err.status === 401)) throw err;
        this._patch({ token: null });
        await this._token();
        return send();
      }
    }

    // --- receiving -------------------------------------------------------------------------

    async _history() {
      const cid = encodeURIComponent(this._conversationId);
      const stored = Number(this._state().leid || 0);
      const frag = document.createDocumentFragment();
      let after = this._max;
      for (;;) {
        const page = await this._api('GET', `/api/v1/interactions/activities/${cid}?type=Customer&leid=${after}`);
        if (!Array.isArray(page)) break;
        for (const activity of page) {
          after = Math.max(after, Number(activity.eventId) || 0);
          this._receive(activity, Number(activity.eventId) > stored, frag);
        }
        if (page.length < PAGE) break;
      }
      if (after > stored) {
        this._patch({ leid: Math.max(after, Number(this._state().leid || 0)), lastActive: Date.now() });
      }
      const firstPending = this._log.querySelector('.msg.pending');
      this._log.insertBefore(frag, firstPending);
      this._log.scrollTop = this._log.scrollHeight;
    }

    _listen() {
      if (this._gone || this._ws || !this._conversationId) return;
      const url = new URL(this._events.replace(/^http/, 'ws') + '/api/v1/events/ws');
      url.searchParams.set('integrationId', this._integrationId);
      url.searchParams.set('conversationId', this._conversationId);
      url.searchParams.set('leid', String(this._max));
      url.searchParams.set('access_token', str(this._state().token));
      let ws;
      try {
        ws = new WebSocket(url.toString());
      } catch (err) {
        console.warn(`hubster-webchat: ${err.message}`);
        return;
      }
      this._ws = ws;
      ws.addEventListener('open', () => {
        this._status.textContent = '';
        clearTimeout(this._steady);
        this._steady = setTimeout(() => { this._wsTries = 0; }, 5000);
      });
      ws.addEventListener('message', (e) => {
        let frame;
        try {
          frame = JSON.parse(e.data);
        } catch (_) {
          return;
        }
        if (!frame || !frame.activity) return;
        const id = Number(frame.activity.eventId);
        this._receive(frame.activity, id > Number(this._state().leid || 0));
      });
      ws.addEventListener('close', (e) => {
        if (this._ws !== ws || this._gone) return;
        this._ws = null;
        clearTimeout(this._steady);
        if (e.code === 1008) this._patch({ token: null }); // refused: the token, most likely
        this._status.textContent = 'Connection lost. Reconnecting\u2026';
        const wait = backoff(this._wsTries++);
        this._retryTimer = setTimeout(() => this._reconnectNow(), wait);
      });
    }

    _reconnectNow() {
      clearTimeout(this._retryTimer);
      if (this._ws || this._gone || !this._conversationId) return;
      this._token().then(() => this._listen(), () => {
        this._retryTimer = setTimeout(() => this._reconnectNow(), backoff(this._wsTries++));
      });
    }

    /** Another tab changed the session: follow its conversation. */
    _otherTab() {
      const state = this._state();
      if (state.conversationId && state.conversationId !== this._conversationId && this._conversationId) {
        this._use(state.conversationId);
        this._history().then(() => this._listen(), () => {});
      }
    }

    _isMine(activity) {
      const sender = get(activity, 'sender') || {};
      return lower(get(sender, 'integrationId')) === this._integrationId.toLowerCase()
        || get(sender, 'integrationType') === 'Customer';
    }

    /** One activity from history (`fresh`: newer than this browser has handled) or live. */
    _receive(activity, fresh, into) {
      const eventId = Number(get(activity, 'eventId'));
      if (!eventId || this._seen.has(eventId)) return;
      this._seen.add(eventId);
      this._max = Math.max(this._max, eventId);
      // Live ones move the stored cursor one by one; a history page moves it once (_history).
      if (fresh && !into) {
        this._patch({ leid: Math.max(eventId, Number(this._state().leid || 0)), lastActive: Date.now() });
      }
      const mine = this._isMine(activity);
      if (fresh && !mine) this._call('onReceivedActivity', activity);
      const target = into || this._log;
      const message = get(activity, 'message');
      const event = get(activity, 'event');
      if (get(activity, 'type') === 'message' && message) {
        if (mine && this._adoptEcho(activity, eventId, into)) return;
        const who = mine ? 'customer' : (get(get(activity, 'sender'), 'integrationType') === 'Bot' ? 'bot' : 'agent');
        if (!mine) this._typingOff();
        if (mine) this._dropQuickReplies(target);
        target.append(this._messageRow(message, who, when(eventId), eventId));
        if (!into) this._scroll();
        if (fresh && !mine) this._notify();
      } else if (event) {
        this._event(event, fresh, target, eventId);
      }
    }

    /** The socket's copy of a message this tab is still sending: keep the one bubble. */
    _adoptEcho(activity, eventId, into) {
      const row = this._log.querySelector(`[data-event-id="${eventId}"]`);
      if (row) return true;
      const text = signature(get(activity, 'message'));
      for (const pending of this._log.querySelectorAll('.msg.pending')) {
        if (pending.dataset.body === text) {
          this._delivered(pending, eventId);
          if (into) into.append(pending); // read from history: in its place, not after it
          return true;
        }
      }
      return false;
    }

    _event(event, fresh, target, eventId) {
      const type = lower(get(event, 'type'));
      if (type === 'typing_on' && fresh) this._typingOn();
      else if (type === 'typing_off') this._typingOff();
      else if (type === 'seen') this._seenUpTo(eventId);
      else if (type === 'payload' && get(event, 'payloadType') === 'hubster.transfer') {
        // Live, or new to this browser and under 30 s old: a forced transfer sent while the
        // visitor was away must not yank them elsewhere on their next visit.
        const runs = fresh && (target === this._log || Date.now() - eventId < TYPING_MS);
        target.append(this._transfer(get(event, 'payload') || {}, runs));
      }
      // Other payloads and control events are for the host (onReceivedActivity), not shown.
    }

    _notify() {
      if (this.isOpen) return;
      if (this._config.openOnNewMessage) {
        this.open();
        return;
      }
      const n = Number(this._badge.textContent || 0) + 1;
      this._badge.textContent = String(n);
      this._badge.hidden = false;
      this._launcher.setAttribute('aria-description', `${n} new message${n === 1 ? '' : 's'}`);
    }

    _scroll() {
      this._log.scrollTop = this._log.scrollHeight;
    }

    _typingOn() {
      this._typingOff();
      const dots = el('div', { class: 'typing', role: 'status', 'aria-label': 'Typing' },
        el('i'), el('i'), el('i'));
      this._typing = dots;
      this._log.append(dots);
      this._scroll();
      this._typingTimer = setTimeout(() => this._typingOff(), TYPING_MS);
    }

    _typingOff() {
      clearTimeout(this._typingTimer);
      if (this._typing) this._typing.remove();
      this._typing = null;
    }

    _seenUpTo(eventId) {
      for (const old of this._log.querySelectorAll('.seen')) old.remove();
      const rows = [...this._log.querySelectorAll('.msg.customer[data-event-id]')]
        .filter((r) => Number(r.dataset.eventId) < eventId);
      const last = rows[rows.length - 1];
      if (last) last.querySelector('.meta').append(el('span', { class: 'seen' }, 'Seen'));
    }

    _transfer(payload, fresh) {
      const href = safeUrl(get(payload, 'url'));
      const label = str(get(payload, 'linkDescription') || get(payload, 'label')) || href || 'Continue';
      const delay = Number(get(payload, 'mountDelay') ?? get(payload, 'mount') ?? 0);
      const forced = Boolean(get(payload, 'forced') ?? get(payload, 'force'));
      const go = () => {
        this._patch({ mountAfter: Number.isFinite(delay) ? delay : 0 });
        location.assign(href);
      };
      const row = el('div', { class: 'transfer' });
      if (!href) {
        row.append(label);
        return row;
      }
      const link = el('a', { href }, label);
      link.addEventListener('click', (e) => {
        e.preventDefault();
        go();
      });
      row.append(link);
      // A forced transfer runs once, when it arrives; read back from history it is a link.
      if (forced && fresh) setTimeout(go, 0);
      return row;
    }

    // --- rendering ---------------------------------------------------------------------------

    _messageRow(message, who, date, eventId) {
      const type = lower(get(message, 'type'));
      const row = el('div', { class: `msg ${who}` });
      if (eventId) row.dataset.eventId = String(eventId);
      const bubble = el('div', { class: 'bubble' });
      if (type === 'text') {
        const text = str(get(message, 'text'));
        if (text) bubble.append(el('div', { class: 'text' }, linkified(text)));
        for (const item of list(get(message, 'items'))) {
          const node = this._item(item);
          if (node) bubble.append(node);
        }
        // A customer's actions record the button it pressed: its title is the text, no button again.
        const actions = who === 'customer' ? [] : list(get(message, 'actions'));
        const inline = actions.filter((a) => lower(get(a, 'type')) !== 'reply');
        if (inline.length) bubble.append(el('div', { class: 'row' }, ...inline.map((a) => this._action(a, 'text'))));
        if (!text && !inline.length) bubble.classList.add('bare');
        row.append(bubble);
        const replies = actions.filter((a) => lower(get(a, 'type')) === 'reply');
        if (replies.length && who !== 'customer') {
          row.append(el('div', { class: 'row quicks', role: 'group', 'aria-label': 'Quick replies' },
            ...replies.map((a) => this._action(a, 'quick'))));
        }
      } else {
        const node = this._item(message);
        bubble.classList.add('bare');
        if (node) bubble.append(node);
        else bubble.append(el('div', { class: 'text' }, `[${type || 'message'}]`));
        if (type === 'carousel' || type === 'list') row.classList.add('wide');
        row.append(bubble);
      }
      row.append(el('div', { class: 'meta' }, timeOf(date)));
      return row;
    }

    _dropQuickReplies(scope) {
      for (const root of [this._log, scope]) {
        if (root) for (const q of root.querySelectorAll('.quicks')) q.remove();
      }
    }

    /** A button for an action: `place` text (postback/link), quick, item (cards), list. */
    _action(action, place) {
      const type = lower(get(action, 'type'));
      const title = str(get(action, 'title')) || str(get(action, 'payload')) || str(get(action, 'url'));
      const cls = place === 'item' ? 'item-btn' : place === 'list' ? 'list-btn' : null;
      if (type === 'link') {
        const href = safeUrl(get(action, 'url'));
        const kind = cls || 'link';
        const v = variant(action, kind === 'link' ? 'info' : 'primary');
        if (!href) return el('span', { class: `btn ${kind} ${v}` }, title);
        return externalLink(href, { class: `btn ${kind} ${v}` }, title);
      }
      const kind = cls || (type === 'reply' ? 'quick' : 'postback');
      const btn = el('button', { type: 'button', class: `btn ${kind} ${variant(action, 'primary')}` }, title);
      btn.addEventListener('click', (e) => {
        const pressed = { type: type === 'reply' ? 'reply' : 'postback', title, payload: str(get(action, 'payload')) };
        const sent = this._send({ type: 'message', message: { type: 'text', text: title, actions: [pressed] } });
        const group = btn.closest('.quicks');
        if (sent && group) group.remove();
        // Pressed from the keyboard (detail 0), the focus must not vanish with its button.
        if (!btn.isConnected && e.detail === 0) this._input.focus();
      });
      return btn;
    }

    _item(item) {
      const type = lower(get(item, 'type'));
      switch (type) {
        case 'youtube': return this._youtube(get(item, 'url'));
        case 'vimeo': return this._vimeo(get(item, 'url'));
        case 'video': return this._video(item);
        case 'audio': return this._audio(item);
        case 'image': return this._image(item);
        case 'attachment': return this._attachment(item);
        case 'location': return this._location(item);
        case 'contact': return this._contact(item);
        case 'card': return this._card(item);
        case 'carousel': return this._carousel(item);
        case 'list': return this._list(item);
        case 'text': return el('div', { class: 'text' }, linkified(str(get(item, 'text'))));
        default: return null;
      }
    }

    _youtube(url) {
      const id = youtubeId(url);
      if (!id) return this._plainLink(url);
      return el('iframe', { class: 'frame', src: `https://www.youtube.com/embed/${id}`, title: 'YouTube video',
        loading: 'lazy', allowfullscreen: true, referrerpolicy: 'strict-origin-when-cross-origin',
        allow: 'encrypted-media; picture-in-picture; fullscreen' });
    }

    _vimeo(url) {
      const id = vimeoId(url);
      if (!id) return this._plainLink(url);
      return el('iframe', { class: 'frame', src: `https://player.vimeo.com/video/${id}`, title: 'Vimeo video',
        loading: 'lazy', allowfullscreen: true, allow: 'fullscreen; picture-in-picture' });
    }

    _plainLink(url) {
      const href = safeUrl(url);
      return href ? externalLink(href, {}, str(url)) : el('span', {}, str(url));
    }

    _video(item) {
      const src = safeUrl(get(item, 'url'));
      if (!src) return null;
      const label = str(get(item, 'label'));
      const video = el('video', { class: 'media', controls: true, preload: 'metadata', 'aria-label': label || 'Video' });
      video.append(el('source', { src, type: this._mime(item, 'video') }));
      return label ? el('figure', { class: 'fig' }, video, el('figcaption', {}, label)) : video;
    }

    _audio(item) {
      const src = safeUrl(get(item, 'url'));
      if (!src) return null;
      const label = str(get(item, 'label'));
      const audio = el('audio', { controls: true, preload: 'none', 'aria-label': label || 'Audio' });
      audio.append(el('source', { src, type: this._mime(item, 'audio') }));
      return label ? el('div', { class: 'fig' }, el('div', {}, label), audio) : audio;
    }

    _mime(item, kind) {
      const given = lower(get(item, 'mimeType'));
      if (given.includes('/')) return given;
      const ext = (str(get(item, 'url')).split(/[?#]/)[0].match(/\.(\w+)$/) || [])[1] || given;
      const map = { mp4: `${kind}/mp4`, mov: 'video/quicktime', webm: `${kind}/webm`, mp3: 'audio/mpeg', wav: 'audio/wav', ogg: `${kind}/ogg` };
      return map[lower(ext)] || undefined;
    }

    _caption(node, title) {
      const meta = webchatMeta(node);
      if (!title || meta['caption-show'] !== 'true') return null;
      const cap = el('span', { class: 'caption' }, title);
      if (meta['caption-color']) cap.style.setProperty('color', meta['caption-color']);
      return cap;
    }

    _image(item, inCard) {
      const src = imageUrl(get(item, 'url'));
      if (!src) return null;
      const alt = str(get(item, 'alt')) || str(get(item, 'title'));
      const img = el('img', { src, alt, loading: 'lazy', class: inCard ? 'cover' : undefined });
      const caption = this._caption(item, str(get(item, 'title')));
      const anchor = safeUrl(get(item, 'urlAnchor'));
      if (anchor) {
        return externalLink(anchor, { class: 'image-btn', 'aria-label': alt ? `Open ${alt}` : 'Open image' }, img, caption);
      }
      const btn = el('button', { type: 'button', class: 'image-btn', 'aria-label': alt ? `Enlarge image: ${alt}` : 'Enlarge image' }, img, caption);
      btn.addEventListener('click', () => this._enlarge(src, alt, btn));
      return btn;
    }

    _enlarge(src, alt, from) {
      const closeBtn = el('button', { type: 'button', 'aria-label': 'Close image' }, '\u00D7');
      const box = el('div', { class: 'lightbox', role: 'dialog', 'aria-label': alt || 'Image' }, el('img', { src, alt }), closeBtn);
      closeBtn.addEventListener('click', () => {
        box.remove();
        from.focus();
      });
      this._window.append(box);
      closeBtn.focus();
    }

    _attachment(item) {
      const href = safeUrl(get(item, 'url'));
      const label = str(get(item, 'label')) || 'Attachment';
      const kind = str(get(item, 'mimeType'));
      const body = [svg(ICON_CLIP), el('span', {}, label), kind ? el('small', {}, kind) : null];
      if (!href) return el('span', { class: 'attachment' }, ...body);
      return externalLink(href, { class: 'attachment', download: true }, ...body);
    }

    _mapUrl(item) {
      const lat = Number(get(item, 'latitude'));
      const lng = Number(get(item, 'longitude'));
      if (Number.isFinite(lat) && Number.isFinite(lng) && get(item, 'latitude') !== undefined
        && get(item, 'longitude') !== undefined) {
        return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=16/${lat}/${lng}`;
      }
      const address = str(get(item, 'address'));
      return address ? `https://www.openstreetmap.org/search?query=${encodeURIComponent(address)}` : null;
    }

    _location(item) {
      const address = str(get(item, 'address'));
      const lat = get(item, 'latitude');
      const lng = get(item, 'longitude');
      const where = address || (lat !== undefined && lng !== undefined ? `${lat}, ${lng}` : 'Location');
      const href = this._mapUrl(item);
      return el('div', { class: 'location' }, svg(ICON_PIN),
        el('div', {}, el('div', {}, where),
          href ? externalLink(href, {}, 'Open map') : null));
    }

    _contact(item) {
      const card = el('div', { class: 'card contact' });
      const title = str(get(item, 'title'));
      const src = imageUrl(get(item, 'imageUrl'));
      const caption = src ? this._caption(item, title) : null; // no picture: the title is the heading
      if (src) card.append(el('div', { class: 'top' }, el('img', { class: 'cover', src, alt: title }), caption));
      const body = el('div', { class: 'body' });
      if (!caption) body.append(el('h3', {}, title));
      const sub = str(get(item, 'subtitle'));
      if (sub) body.append(el('div', { class: 'sub' }, sub));
      for (const p of list(get(item, 'properties'))) {
        const key = str(get(p, 'key'));
        const value = str(get(p, 'value'));
        const kind = lower(get(p, 'type'));
        let shown = value;
        if (kind.startsWith('phone')) shown = el('a', { href: `tel:${value.replace(/[^\d+]/g, '')}` }, value);
        else if (kind.startsWith('email') && /^[^\s@]+@[^\s@]+$/.test(value)) shown = el('a', { href: `mailto:${value}` }, value);
        else if (kind.startsWith('address')) shown = externalLink(this._mapUrl({ address: value }), {}, value);
        body.append(el('div', { class: 'prop' }, el('b', {}, key), key ? ': ' : '', shown));
      }
      card.append(body);
      return card;
    }

    _card(item) {
      const card = el('div', { class: 'card' });
      const urlType = lower(get(item, 'urlType')) || (get(item, 'url') || get(item, 'imageUrl') ? 'image' : '');
      const url = get(item, 'url') || get(item, 'imageUrl');
      const title = str(get(item, 'title'));
      let media = null;
      let caption = null;
      if (urlType === 'image') {
        const src = imageUrl(url);
        if (src) {
          media = el('img', { class: 'cover', src, alt: title, loading: 'lazy' });
          const fallback = safeUrl(get(item, 'fallbackImageUrl'));
          if (fallback) media.addEventListener('error', () => { if (media.src !== fallback) media.src = fallback; }, { once: true });
          caption = this._caption(item, title);
        }
      } else if (urlType === 'youtube') media = this._youtube(url);
      else if (urlType === 'vimeo') media = this._vimeo(url);
      else if (urlType === 'video') media = this._video({ url });
      else if (urlType === 'audio') media = this._audio({ url });
      if (!media && safeUrl(get(item, 'fallbackImageUrl'))) {
        media = el('img', { class: 'cover', src: safeUrl(get(item, 'fallbackImageUrl')), alt: title });
      }
      if (media) card.append(el('div', { class: 'top' }, media, caption));
      const body = el('div', { class: 'body' });
      if (title && !caption) body.append(el('h3', {}, title));
      const sub = str(get(item, 'subtitle'));
      if (sub) body.append(el('div', { class: 'sub' }, sub));
      const content = str(get(item, 'content'));
      if (content) body.append(el('div', { class: 'content' }, linkified(content)));
      if (body.childNodes.length) card.append(body);
      for (const a of list(get(item, 'actions'))) card.append(this._action(a, 'item'));
      return card;
    }

    _cards(message) {
      // Carousel and list items are cards; the message's channels apply to image captions.
      const channels = get(message, 'channels');
      return list(get(message, 'items')).map((it) =>
        this._card(get(it, 'channels') || !channels ? it : Object.assign({}, it, { channels })));
    }

    _carousel(message) {
      const cards = this._cards(message);
      const track = el('div', { class: 'track', tabindex: '0', 'aria-label': 'Carousel items' }, ...cards);
      cards.forEach((c, i) => {
        c.setAttribute('role', 'group');
        c.setAttribute('aria-roledescription', 'slide');
        c.setAttribute('aria-label', `${i + 1} of ${cards.length}`);
      });
      const step = (dir) => {
        const first = cards[0];
        const width = first ? first.getBoundingClientRect().width + 10 : 280;
        track.scrollBy({ left: dir * width, behavior: 'smooth' });
      };
      const prev = el('button', { type: 'button', class: 'nav prev', 'aria-label': 'Previous' }, '\u2039');
      const next = el('button', { type: 'button', class: 'nav next', 'aria-label': 'Next' }, '\u203A');
      prev.addEventListener('click', () => step(-1));
      next.addEventListener('click', () => step(1));
      track.addEventListener('keydown', (e) => {
        if (e.key === 'ArrowRight') { e.preventDefault(); step(1); }
        if (e.key === 'ArrowLeft') { e.preventDefault(); step(-1); }
      });
      const sync = () => {
        prev.hidden = track.scrollLeft <= 2;
        next.hidden = track.scrollLeft + track.clientWidth >= track.scrollWidth - 2;
      };
      track.addEventListener('scroll', sync, { passive: true });
      requestAnimationFrame(sync);
      return el('div', { class: 'carousel', role: 'region', 'aria-roledescription': 'carousel', 'aria-label': 'Carousel' },
        prev, track, next);
    }

    _list(message) {
      const out = el('div', { class: 'list', role: 'list' }, ...this._cards(message).map((c) => {
        c.setAttribute('role', 'listitem');
        return c;
      }));
      const actions = list(get(message, 'actions'));
      if (actions.length) out.append(el('div', { class: 'list-actions' }, ...actions.map((a) => this._action(a, 'list'))));
      return out;
    }

    // --- sending -------------------------------------------------------------------------------

    _submit() {
      const text = this._input.value;
      if (!text.trim()) return;
      this._input.value = '';
      this._grow();
      this._send({ type: 'message', message: { type: 'text', text } });
      this._input.focus();
    }

    /** Queue one customer activity (unless onBeforeActivitySend refuses it); true if queued. */
    _send(activity) {
      if (this._call('onBeforeActivitySend', activity) === false) return false;
      if (this._config.styling) {
        this._log.append(this._messageRow(activity.message, 'customer', new Date()));
        this._scroll();
        return true;
      }
      const item = { key: uuid(), activity, at: Date.now() };
      this._patch({ outbox: [...list(this._state().outbox), item] });
      this._dropQuickReplies();
      this._pendingBubble(item);
      this._touch();
      this._flush();
      return true;
    }

    _pendingBubble(item) {
      const row = this._messageRow(item.activity.message, 'customer', new Date(item.at));
      row.classList.add('pending');
      row.dataset.key = item.key;
      row.dataset.body = signature(item.activity.message);
      row.querySelector('.meta').append(el('span', { class: 'state' }, 'Sending\u2026'));
      this._log.append(row);
      this._scroll();
      return row;
    }

    _delivered(row, eventId) {
      row.classList.remove('pending');
      row.removeAttribute('data-key');
      row.removeAttribute('data-body');
      row.dataset.eventId = String(eventId);
      const state = row.querySelector('.state');
      if (state) state.remove();
      this._seen.add(eventId);
      this._max = Math.max(this._max, eventId);
    }

    _unqueue(key) {
      this._patch({ outbox: list(this._state().outbox).filter((i) => i.key !== key) });
    }

    /** Send queued activities in order, each once (its Idempotency-Key makes a retry safe). */
    async _flush() {
      if (this._flushing) return;
      this._flushing = true;
      try {
        for (;;) {
          const item = list(this._state().outbox)[0];
          if (!item) return;
          const row = this._root.querySelector(`[data-key="${item.key}"]`) || this._pendingBubble(item);
          const done = await this._deliver(item, row);
          if (!done) return; // waits for the network (or a user's retry)
        }
      } finally {
        this._flushing = false;
      }
    }

    async _deliver(item, row) {
      const mark = (text) => {
        const state = row.querySelector('.state');
        if (state) state.textContent = text;
      };
      let reopened = false;
      for (let attempt = 0; ; attempt++) {
        if (!navigator.onLine) {
          // Every queued message waits, not only the first (the others would say "Sending").
          for (const s of this._log.querySelectorAll('.msg.pending .state')) s.textContent = 'Waiting for network\u2026';
          mark('Waiting for network\u2026');
          return false;
        }
        try {
          await this._start(false);
          const path = `/inbound/customer/v1/web-chat/${encodeURIComponent(this._conversationId)}`;
          const ack = await this._api('POST', path, item.activity, true, { 'Idempotency-Key': item.key });
          this._unqueue(item.key);
          const eventId = Number(ack && ack.eventId);
          const shown = eventId && this._log.querySelector(`[data-event-id="${eventId}"]`);
          if (shown && shown !== row) row.remove(); // the socket showed it first
          else this._delivered(row, eventId);
          this._patch({ leid: Math.max(eventId || 0, Number(this._state().leid || 0)) });
          return true;
        } catch (err) {
          if (err instanceof ApiFailure && err.code === 6501 && !reopened) {
            // The conversation was closed: continue in a new one (a new key: another path).
            reopened = true;
            this._established = false;
            this._patch({ conversationId: null });
            this._ready = null;
            const old = item.key;
            item.key = uuid();
            this._rekey(old, item.key);
            row.dataset.key = item.key;
            await this._start(true).catch(() => {});
            continue;
          }
          const transient = err instanceof Offline || (err instanceof ApiFailure && (err.status >= 500 || err.status === 429));
          if (transient && attempt + 1 < SEND_TRIES) {
            mark('Sending\u2026');
            await sleep(backoff(attempt) * 2);
            continue;
          }
          console.warn(`hubster-webchat: message not sent: ${err.message}`);
          this._undelivered(item, row, transient);
          return false;
        }
      }
    }

    _rekey(oldKey, newKey) {
      this._patch({ outbox: list(this._state().outbox).map((i) => (i.key === oldKey ? Object.assign({}, i, { key: newKey }) : i)) });
    }

    _undelivered(item, row, sameKey) {
      // Out of the queue: later messages are not held behind it; Retry puts it back.
      this._unqueue(item.key);
      const state = row.querySelector('.state');
      if (state) state.remove();
      const retry = el('button', { type: 'button', class: 'retry' }, 'Retry');
      const failed = el('span', { class: 'failed' }, 'Not delivered');
      row.classList.remove('pending');
      row.classList.add('undelivered');
      row.querySelector('.meta').append(failed, retry);
      retry.addEventListener('click', () => {
        failed.remove();
        retry.remove();
        row.classList.remove('undelivered');
        row.classList.add('pending');
        row.querySelector('.meta').append(el('span', { class: 'state' }, 'Sending\u2026'));
        // A key whose request got an answer replays that answer: a new one, unless it never arrived.
        const again = { key: sameKey ? item.key : uuid(), activity: item.activity, at: item.at };
        row.dataset.key = again.key;
        this._log.append(row);
        this._patch({ outbox: [...list(this._state().outbox), again] });
        this._flush();
      });
    }

    // --- errors ------------------------------------------------------------------------------

    _fail(err) {
      if (this._failed) return;
      let text = 'Chat is unavailable right now.';
      let retry = false;
      if (err instanceof ApiFailure) {
        if (err.status === 403) text = 'Chat is not available on this site.';
        else if (err.code === 6502 || err.code === 6503) text = 'Chat is paused right now.';
        else if (err.status === 404 || err.code === 6000 || err.code === 206 || err.code === 203) text = 'Chat is not set up correctly.';
        else retry = err.status >= 500 || err.status === 429;
      } else if (err instanceof Offline) {
        text = 'Chat cannot connect right now.';
        retry = true;
      }
      this._failed = true;
      console.warn(`hubster-webchat: chat unavailable: ${err.message}`);
      this._window.hidden = true;
      this.classList.remove('open');
      this._launcher.hidden = true;
      this._notice.replaceChildren(el('span', {}, text));
      if (retry) {
        const again = el('button', { type: 'button' }, 'Try again');
        again.addEventListener('click', () => {
          this._failed = false;
          this._notice.hidden = true;
          this._boot();
        });
        this._notice.append(again);
      }
      this._notice.hidden = false;
    }

    // --- styling: every part with sample content, and no request at all --------------------

    _gallery() {
      const pic = (hue, label) => 'data:image/svg+xml,' + encodeURIComponent(
        `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180"><rect width="320" height="180" fill="hsl(${hue},55%,55%)"/><text x="160" y="98" font-family="sans-serif" font-size="22" fill="white" text-anchor="middle">${label}</text></svg>`);
      const caption = [{ type: 'Webchat', metadata: [{ key: 'caption-show', value: 'true' }, { key: 'caption-color', value: 'white' }] }];
      const typed = (type) => [{ type: 'Webchat', metadata: [{ key: 'type', value: type }] }];
      const cardItem = (n, hue) => ({ title: `Item ${n}`, content: 'Sample card content.', urlType: 'image', url: pic(hue, `Item ${n}`),
        actions: [{ type: 'reply', title: 'Select', payload: `item-${n}` }, { type: 'link', title: 'More info', url: 'https://example.com' }] });
      const samples = [
        ['customer', { type: 'text', text: 'A customer message (userTextMessage).' }],
        ['agent', { type: 'text', text: 'An agent message (agentTextMessage) with a link: https://example.com' }],
        ['bot', { type: 'text', text: 'A bot message (botTextMessage).' }],
        ['agent', { type: 'text', text: 'Postback buttons (buttons)', actions: VARIANTS.map((v) => ({ type: 'postback', title: v, payload: v, channels: typed(v) })) }],
        ['agent', { type: 'text', text: 'Link buttons (links)', actions: VARIANTS.map((v) => ({ type: 'link', title: v, url: 'https://example.com', channels: typed(v) })) }],
        ['agent', { type: 'text', text: 'Quick replies (quickReplies)', actions: VARIANTS.map((v) => ({ type: 'reply', title: v, payload: v, channels: typed(v) })) }],
        ['agent', { type: 'image', url: pic(220, 'Image'), alt: 'Sample image', title: 'Image caption', channels: caption }],
        ['agent', { type: 'youtube', url: 'https://youtube.com/embed/sample' }],
        ['agent', { type: 'attachment', label: 'Year end report', mimeType: 'pdf', url: 'https://example.com/report.pdf' }],
        ['agent', { type: 'location', address: '2640 Matheson, Mississauga, ON', latitude: 43.64, longitude: -79.62 }],
        ['agent', { type: 'contact', imageUrl: pic(330, 'Contact'), title: 'Eva Green', subtitle: 'Mighty Health', channels: caption,
          properties: [{ key: 'Cell', value: '(416) 555-0001', type: 'phone;cell' }, { key: 'Email', value: 'eva@example.com', type: 'email' }] }],
        ['agent', { type: 'card', urlType: 'image', url: pic(20, 'Card'), title: 'Card title', subtitle: 'Subtitle', content: 'Card content.', channels: caption }],
        ['bot', { type: 'carousel', items: [cardItem(1, 200), cardItem(2, 120), cardItem(3, 40)], channels: caption }],
        ['bot', { type: 'list', items: [cardItem(1, 260), cardItem(2, 160)], channels: caption,
          actions: VARIANTS.slice(0, 2).map((v) => ({ type: 'postback', title: `List button (${v})`, payload: v, channels: typed(v) })) }],
      ];
      this._log.append(el('div', { class: 'gallery-note' }, 'Styling mode: sample content, no connection to the server.'));
      for (const [who, message] of samples) {
        if (message.type === 'youtube') {
          // A placeholder of the player's size: the gallery makes no request at all.
          const row = el('div', { class: 'msg agent' }, el('div', { class: 'bubble bare' },
            el('div', { class: 'frame', role: 'img', 'aria-label': 'Video player (YouTube, Vimeo)' })));
          this._log.append(row);
          continue;
        }
        this._log.append(this._messageRow(message, who, new Date()));
      }
      const failed = this._messageRow({ type: 'text', text: 'A message that was not delivered.' }, 'customer', new Date());
      failed.querySelector('.meta').append(el('span', { class: 'failed' }, 'Not delivered'), el('button', { type: 'button', class: 'retry' }, 'Retry'));
      this._log.append(failed, this._transfer({ url: 'https://example.com', linkDescription: 'A transfer link' }, false));
      this._log.append(el('div', { class: 'typing', role: 'status', 'aria-label': 'Typing' }, el('i'), el('i'), el('i')));
      this.open();
    }
  }

  customElements.define('hubster-webchat', HubsterWebchat);
})();

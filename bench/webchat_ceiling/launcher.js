// The floor of "a script makes a launcher button" (bench/webchat.py).
customElements.define('hubster-webchat', class extends HTMLElement {
  connectedCallback() { const r = this.attachShadow({mode: 'open'});
    const b = document.createElement('button'); b.className = 'launcher';
    b.setAttribute('aria-label', 'Open chat'); r.append(b); } });

// The floor of "a script shows a stored conversation's history" (bench/webchat.py):
// the same token and activities requests as the component, one text node per activity.
customElements.define('hubster-webchat', class extends HTMLElement {
  async connectedCallback() { const c = window.HUBSTER_CONFIG; const r = this.attachShadow({mode: 'open'});
    const log = document.createElement('div'); r.append(log);
    const t = await (await fetch(`${c.engineEndpoint}/api/v1/integrations/web-chat/token/${c.integrationId}`)).json();
    const s = JSON.parse(localStorage.getItem('hubster-webchat:' + c.integrationId.toLowerCase()));
    const a = await (await fetch(`${c.engineEndpoint}/api/v1/interactions/activities/${s.conversationId}?type=Customer&leid=0`,
      {headers: {Authorization: 'Bearer ' + t.access_token}})).json();
    const f = document.createDocumentFragment();
    for (const x of a) { const d = document.createElement('div'); d.className = 'msg';
      d.textContent = x.message ? x.message.text : ''; f.append(d); }
    log.append(f); } });

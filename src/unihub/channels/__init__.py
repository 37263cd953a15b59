"""Every messaging provider, one folder each, behind one interface (`channels.base`).

`twilio/`, `messenger/` and `slack/` each hold their configuration schema, the credential
check of attaching, inbound parsing with the signature check, and outbound rendering and
sending. Integrations attach through `verify`, the provider routes (`inbound/`) through
`receive`, the delivery worker through `send`. Adding a provider is adding a folder and
registering its adapter in `channels.registry`.
"""

"""Push: the PSA tells Northstar what changed (ConnectWise callbacks, Autotask webhooks).

- `models`: each source's push channel (its secret, encrypted; what it registered in the
  PSA; its state) and the notices deliveries brought.
- `secrets`: the per-source secret and the URL token derived from it.
- `setup`: registering with the PSA when a public URL is set, removing on deletion, and
  noticing when deliveries stop (a gap).
- `receiver`: the route a PSA posts to: authenticate, refuse replays, queue, answer fast.
- `drain`: re-read the announced records through the connector and store them, so their
  KPIs move within seconds.
Polling never stops: push only makes a change show sooner.
"""

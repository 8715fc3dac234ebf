"""A seeded, vendor-neutral world of one MSP, rendered by both PSA simulators.

`model.py` declares the world; `world.py` generates it (`build_world`) and changes it between
syncs (`mutate_world`). Both simulators render the same world, so a sync through either PSA
must produce the same canonical facts (up to ids and labels).
"""

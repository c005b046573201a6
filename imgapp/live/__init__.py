"""The live bridge: published events -> every open page of their user, through Reflex.

`bridge` pushes; `instances` keeps a page that reconnects to another app process on its state.
"""

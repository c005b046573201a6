"""The live bridge: published events -> every open page of their user, through Reflex."""

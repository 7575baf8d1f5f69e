"""The game catalogue: games, brand overlays, lobby queries and feed sync rules."""

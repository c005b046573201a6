"""imgapp: buy credits, spend them on AI image generation."""

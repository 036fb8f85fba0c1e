"""The publisher's record pages: parsing both layouts, the facts they state, importing
them, and rendering pages and the static site."""

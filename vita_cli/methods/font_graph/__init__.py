"""Font completion by cycling image → graph → image (Yuan et al., arXiv 2108.12965).

An image encoder maps glyph images to a style code; a character-conditional graph constructor
decodes the code into a glyph graph (150 points along the closed outline contours, with direction);
a graph encoder and a character-conditional renderer turn the graph back into an image.
"""

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

"""Machine translation of relayed messages behind one small interface: argostranslate, or none.

`translator` holds the interface, `argos` the offline engine, `cache` the caching wrapper,
`factory` picks one from the settings, `commands` is `engagiert mt status | install`.
"""

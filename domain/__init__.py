"""The county's domain on top of the engine: one package per area, assembled by `domain.services`.

people (accounts, roles, the one policy module), work (inbox, participation, extensions, page queries),
notifications (dispatch, centre, one class per channel), calendar (working days), consultation (the six-step
method's hooks, records, public tracking, vocabulary, demo data). An area imports another only through its public
names, lower areas never import higher ones (checked by `.importlinter`).
"""

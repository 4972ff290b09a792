"""Data in and out: files read with located errors, files written atomically, data sets.

``tables`` (:func:`~engine.data.tables.read_csv` and :class:`Table`) over the
``csv_*`` readers, ``writers`` (labeled CSV, model JSON, generated data; the
input is never written), ``datasets`` and ``random_parameters`` (the lab's
scenarios and random mixtures, of any covariance structure: ``structured``).
A new file format goes here.  Imports numpy, pandas and ``engine.model``;
never ``engine.em`` or ``engine.selection``.
"""

"""The plots: the 2-D view (``plot2d``), the 3-D view (``plot3d``), the convergence
curves (``convergence``) and the model-selection curves and table (``selection``).

A view draws what it is given (``set_data``, ``show_model``, ``paint_now``) and
says what the user picked through signals; its geometry comes from
``engine.geometry``.  Modules with a leading underscore are the views' own parts.
"""

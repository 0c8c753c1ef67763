OK_FORMAT = True

test = {   'name': 'q6_plots',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     figures = {name: checks.get(ns, name) for name in ('fig_curves', 'fig_confusion', 'fig_samples')}\n"
                                               '...     for name, fig in figures.items():\n'
                                               "...         assert hasattr(fig, 'get_axes'), f'`{name}` should be a matplotlib figure'\n"
                                               "...     return {'panels': {name: len(fig.get_axes()) for name, fig in figures.items()}}\n"
                                               '>>> def judge(data):\n'
                                               "...     for name, panels in data['panels'].items():\n"
                                               "...         assert panels >= 1, f'`{name}` is an empty figure'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def images_in(fig):\n'
                                               "...     return [{'images': [list(np.shape(image.get_array())) for image in ax.images], 'title': ax.get_title(), 'xlabel': ax.get_xlabel(), 'ylabel': "
                                               'ax.get_ylabel()} for ax in fig.get_axes()]\n'
                                               '>>> def extract(ns):\n'
                                               "...     figures = {name: checks.get(ns, name) for name in ('fig_curves', 'fig_confusion', 'fig_samples')}\n"
                                               '...     for name, fig in figures.items():\n'
                                               "...         assert hasattr(fig, 'get_axes'), f'`{name}` should be a matplotlib figure'\n"
                                               "...     return {'panels': {name: len(fig.get_axes()) for name, fig in figures.items()}, 'curves': checks.describe_figure(checks.get(ns, "
                                               "'fig_curves')), 'confusion': images_in(checks.get(ns, 'fig_confusion')), 'samples': images_in(checks.get(ns, 'fig_samples')), 'classes': "
                                               "len(checks.get(ns, 'images').classes)}\n"
                                               '>>> def judge(data):\n'
                                               "...     for name, panels in data['panels'].items():\n"
                                               "...         assert panels >= 1, f'`{name}` is an empty figure'\n"
                                               "...     panels = data['curves']['axes']\n"
                                               "...     assert len(panels) >= 2, f'fig_curves has {len(panels)} panel(s); draw loss and accuracy side by side'\n"
                                               '...     for panel in panels[:2]:\n'
                                               "...         assert panel['xlabel'] and panel['ylabel'], 'label both axes of every learning-curve panel'\n"
                                               "...         assert panel['lines'] >= 2 and len(panel['legend']) >= 2, 'draw and name the training and validation curves in each panel'\n"
                                               "...     k = data['classes']\n"
                                               "...     heat = [ax for ax in data['confusion'] if any((shape[:2] == [k, k] for shape in ax['images']))]\n"
                                               "...     assert heat, f'fig_confusion should show the {k}x{k} confusion matrix as an image (imshow)'\n"
                                               '...     assert heat[0][\'xlabel\'] and heat[0][\'ylabel\'], "label the heat map\'s axes (predicted / true class)"\n'
                                               "...     assert len(data['confusion']) >= 2, 'add a colour bar to the heat map'\n"
                                               "...     shown = [ax for ax in data['samples'] if ax['images']]\n"
                                               "...     assert len(shown) >= 8, f'fig_samples shows {len(shown)} image(s); show at least 8 test images'\n"
                                               "...     assert all((ax['title'] for ax in shown)), 'title every sample image with its predicted and true class'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}

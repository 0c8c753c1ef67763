OK_FORMAT = True

test = {   'name': 'q9_plots',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               '...     figures = {}\n'
                                               "...     for name in ('fig_curves', 'fig_boxes'):\n"
                                               '...         fig = checks.get(ns, name)\n'
                                               "...         assert hasattr(fig, 'get_axes'), f'`{name}` should be a matplotlib figure'\n"
                                               '...         figures[name] = checks.describe_figure(fig)\n'
                                               '...     return figures\n'
                                               '>>> def judge(data):\n'
                                               "...     assert any((ax['lines'] for ax in data['fig_curves']['axes'])), 'plot the training curves in fig_curves'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               '...     figures = {}\n'
                                               "...     for name in ('fig_curves', 'fig_boxes'):\n"
                                               '...         fig = checks.get(ns, name)\n'
                                               "...         assert hasattr(fig, 'get_axes'), f'`{name}` should be a matplotlib figure'\n"
                                               '...         figures[name] = checks.describe_figure(fig)\n'
                                               '...     return figures\n'
                                               '>>> def judge(data):\n'
                                               "...     assert any((ax['lines'] for ax in data['fig_curves']['axes'])), 'plot the training curves in fig_curves'\n"
                                               "...     plotted = [ax for ax in data['fig_curves']['axes'] if ax['lines']]\n"
                                               "...     assert plotted, 'plot the loss and the accuracy against the epoch'\n"
                                               "...     assert all((ax['xlabel'] and ax['ylabel'] for ax in plotted)), 'label both axes of every plot'\n"
                                               "...     assert all((ax['legend'] for ax in plotted)), 'add a legend to every plot'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     fig = checks.get(ns, 'fig_boxes')\n"
                                               "...     assert hasattr(fig, 'get_axes'), '`fig_boxes` should be a matplotlib figure'\n"
                                               '...     return checks.describe_figure(fig)\n'
                                               '>>> def judge(data):\n'
                                               "...     with_boxes = [ax for ax in data['axes'] if ax['patches'] > 0]\n"
                                               "...     assert len(with_boxes) >= 4, f'{len(with_boxes)} panels of fig_boxes show boxes; draw the boxes on at least 4 canvases'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}

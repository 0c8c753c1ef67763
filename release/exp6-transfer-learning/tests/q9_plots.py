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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}

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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}

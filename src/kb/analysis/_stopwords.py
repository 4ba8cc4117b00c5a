"""Russian function words and question words, for DOWN-weighting query terms.

They are never removed from the index (removing them cost 0.01-0.05 nDCG@10 on legal
questions, design.md); a query term whose norm is here gets weight STOP_WEIGHT
(0.3 measured best in bench/analysis_eval.py, docs/analysis.md) instead of 1.
"""

from __future__ import annotations

STOP_WEIGHT = 0.3

STOPWORDS = frozenset(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по
    только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже
    или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они
    тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под
    будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем
    чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть после
    над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо
    свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между
    это как каком какие каких который которые которых которая котором
    сколько почему каков какова каково каковы чей чья чье чьи откуда насколько какую каким
    какого какому какой каким какими кем кому чему чем""".split()
)


def query_weight(norm: str) -> float:
    """Weight of a query token (by its norm): STOP_WEIGHT for function/question words, else 1."""
    return STOP_WEIGHT if norm in STOPWORDS else 1.0

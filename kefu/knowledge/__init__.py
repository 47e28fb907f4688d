"""Knowledge base (知识库): articles with extended questions, Chinese search (jieba + BM25 +
pinyin + embeddings), announcements (公告), the question loop, tips and the FAQ bot."""

from kefu.knowledge.search import SearchConfig, SearchDoc, SearchHit, SearchIndex, Segmenter

__all__ = ["SearchConfig", "SearchDoc", "SearchHit", "SearchIndex", "Segmenter"]

namespace FastRnn.Data;

/// <summary>One verse of the King James Version: its book (0 = Genesis … 65 = Revelation), chapter and text.</summary>
public sealed record Verse(int Book, int Chapter, int ChapterIndex, string Text);

namespace FastRnn.Data;

/// <summary>Which part of a deterministic split a piece of data belongs to.</summary>
public enum Split
{
    Train = 0,
    Validation = 1,
    Test = 2,
}

namespace FastRnn;

/// <summary>What the learning-rate schedules share.</summary>
internal static class Schedules
{
    /// <summary>A step count, refused when negative.</summary>
    public static int Step(int t) => t >= 0 ? t : throw new ArgumentOutOfRangeException(nameof(t), t, "Steps count from 0.");

    /// <summary>A half cosine from <paramref name="initial"/> (at 0) to <paramref name="minimum"/> (at <paramref name="period"/>).</summary>
    public static float Cosine(float initial, float minimum, long t, long period) =>
        (float)(minimum + ((double)initial - minimum) * (1 + Math.Cos(Math.PI * t / period)) / 2);
}

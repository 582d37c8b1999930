namespace DataPlane.Linux.Tests;

public sealed class PacketBatchTests
{
    [Fact]
    public void Defaults_fit_a_GSO_super_frame_behind_the_headroom()
    {
        using var batch = new PacketBatch();
        Assert.Equal(64, batch.Capacity);
        Assert.Equal(128, batch.Headroom);
        Assert.Equal(65536, batch.FrameCapacity);
        Assert.True(batch.SlotSize >= 128 + 65536);
        Assert.Equal(0, batch.SlotSize % 64);
        Assert.Equal(0, batch.Count);
        Assert.Equal(128, batch.Meta(0).Offset);
        Assert.Equal(0, batch.Frame(0).Length);
    }

    [Fact]
    public void Prepend_grows_the_frame_into_the_headroom_without_moving_it()
    {
        using var batch = new PacketBatch(2, 2048, 64);
        int slot = batch.Add([1, 2, 3, 4]);
        var header = batch.Prepend(slot, 40);
        header.Fill(0xEE);
        Assert.Equal(24, batch.Meta(slot).Offset);
        Assert.Equal(44, batch.Frame(slot).Length);
        Assert.Equal([0xEE, 1, 2, 3, 4], batch.Frame(slot)[39..].ToArray());
        batch.TrimFront(slot, 40);
        Assert.Equal([1, 2, 3, 4], batch.Frame(slot).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Prepend(slot, 65));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.TrimFront(slot, 5));
    }

    [Fact]
    public void Frames_cannot_be_placed_outside_their_slot()
    {
        using var batch = new PacketBatch(2, 1000, 24);
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.SetFrame(0, 0, batch.SlotSize + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.SetFrame(0, batch.SlotSize, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.SetFrame(0, -1, 1));
        Assert.Throws<IndexOutOfRangeException>(() => batch.Frame(2));
        batch.SetFrame(1, 0, batch.SlotSize);
        Assert.Equal(batch.SlotSize, batch.Frame(1).Length);
        Assert.Throws<ArgumentException>(() => batch.Add(new byte[1001]));
    }

    [Fact]
    public void Slots_do_not_overlap()
    {
        using var batch = new PacketBatch(4, 256, 16);
        for (int i = 0; i < 4; i++) batch.Slot(i).Fill((byte)(i + 1));
        for (int i = 0; i < 4; i++) Assert.All(batch.Slot(i).ToArray(), b => Assert.Equal(i + 1, b));
    }

    [Fact]
    public void A_disposed_batch_refuses_access()
    {
        var batch = new PacketBatch(1, 64, 0);
        batch.Dispose();
        Assert.Throws<ObjectDisposedException>(() => batch.Frame(0));
        batch.Dispose();
    }
}

using System.Text;
using Google.Protobuf;

namespace DataPlane.Etcd;

/// <summary>
/// Where a shard's state lives in etcd (docs/high-availability.md):
/// <code>
/// {root}/shards/{shard}                  the shard's LMA address and pools (checked for overlaps at start)
/// {root}/lma/{shard}/leader              the active member's name, under its lease (the election key)
/// {root}/lma/{shard}/restart-counter     the shard's RFC 5847 Restart Counter
/// {root}/lma/{shard}/esp-sequences      the shard's ESP sequence state ("out|in PEER SPI VALUE" lines), with signalling keys
/// {root}/lma/{shard}/bce/{key}           one binding cache entry (BindingRecord JSON)
/// </code>
/// One watch on <c>{root}/lma/{shard}/</c> sees all of them.
/// </summary>
public sealed class ShardKeys
{
    public ShardKeys(string root, string shard)
    {
        if (string.IsNullOrEmpty(shard) || shard.Contains('/')) throw new ArgumentException($"shard name \"{shard}\" must be non-empty without '/'", nameof(shard));
        Root = root.TrimEnd('/');
        Shard = shard;
        ShardPrefix = $"{Root}/lma/{shard}/";
        Leader = ShardPrefix + "leader";
        RestartCounter = ShardPrefix + "restart-counter";
        EspSequences = ShardPrefix + "esp-sequences";
        BindingPrefix = ShardPrefix + "bce/";
        Registry = $"{Root}/shards/{shard}";
        RegistryPrefix = $"{Root}/shards/";
    }

    public string Root { get; }
    public string Shard { get; }
    public string ShardPrefix { get; }
    public string Leader { get; }
    public string RestartCounter { get; }
    public string EspSequences { get; }
    public string BindingPrefix { get; }
    public string Registry { get; }
    public string RegistryPrefix { get; }

    public string Binding(string key) => BindingPrefix + key;

    public static ByteString Bytes(string key) => ByteString.CopyFromUtf8(key);

    /// <summary>The range end that makes a range or watch cover every key starting with <paramref name="prefix"/>.</summary>
    public static ByteString PrefixEnd(string prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(prefix);
        for (int i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0); // the whole key space
    }
}

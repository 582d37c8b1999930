using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace DataPlane.Linux.Native;

/// <summary>
/// The bpf(2) system call, for the one thing we need it for: loading a tiny tc classifier written here as
/// raw eBPF instructions (no libbpf, no compiler). Instruction encoding per Documentation/bpf/standardization.
/// </summary>
internal static unsafe partial class Bpf
{
    private const long SysBpf = 321; // x86-64
    private const int BpfProgLoad = 5;
    public const int ProgTypeSchedCls = 3;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long cmd, void* attr, long size);

    // Opcodes (class | op | source/size).
    public const byte MovRegToReg64 = 0xbf;  // BPF_ALU64 | BPF_MOV | BPF_X
    public const byte MovImm64 = 0xb7;       // BPF_ALU64 | BPF_MOV | BPF_K
    public const byte LoadAbsByte = 0x30;    // BPF_LD | BPF_ABS | BPF_B   (r0 = skb[imm], legacy packet access)
    public const byte LoadAbsHalf = 0x28;    // BPF_LD | BPF_ABS | BPF_H   (network → host order)
    public const byte LoadAbsWord = 0x20;    // BPF_LD | BPF_ABS | BPF_W
    public const byte Jne32Imm = 0x56;       // BPF_JMP32 | BPF_JNE | BPF_K
    public const byte Exit = 0x95;           // BPF_JMP | BPF_EXIT

    public static ulong Instruction(byte opcode, int dst = 0, int src = 0, short offset = 0, int imm = 0) =>
        opcode | (ulong)(byte)((src << 4) | dst) << 8 | (ulong)(ushort)offset << 16 | (ulong)(uint)imm << 32;

    /// <summary>Load a SCHED_CLS program; returns its fd. The verifier's log is in the exception if it refuses.</summary>
    public static int LoadSchedCls(ReadOnlySpan<ulong> instructions, string name)
    {
        byte[] license = Encoding.ASCII.GetBytes("GPL\0");
        byte[] log = new byte[16384];
        byte* attr = stackalloc byte[128];
        new Span<byte>(attr, 128).Clear();
        fixed (ulong* insns = instructions)
        fixed (byte* lic = license)
        fixed (byte* logBuf = log)
        {
            *(uint*)(attr + 0) = ProgTypeSchedCls;
            *(uint*)(attr + 4) = (uint)instructions.Length;
            *(ulong*)(attr + 8) = (ulong)insns;
            *(ulong*)(attr + 16) = (ulong)lic;
            *(uint*)(attr + 24) = 1;                // log_level: the verifier says why, if it refuses
            *(uint*)(attr + 28) = (uint)log.Length;
            *(ulong*)(attr + 32) = (ulong)logBuf;
            var nameBytes = Encoding.ASCII.GetBytes(name);
            nameBytes.AsSpan(0, Math.Min(nameBytes.Length, 15)).CopyTo(new Span<byte>(attr + 48, 15));
            long fd = Syscall(SysBpf, BpfProgLoad, attr, 128);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                int end = Array.IndexOf(log, (byte)0);
                string verifier = Encoding.ASCII.GetString(log, 0, end < 0 ? log.Length : end).Trim();
                throw new LinuxIoException($"bpf BPF_PROG_LOAD {name}", errno, verifier.Length == 0 ? null : verifier);
            }
            return (int)fd;
        }
    }

    /// <summary>Big-endian 32-bit word <paramref name="index"/> of an address, as BPF_LD_ABS|BPF_W returns it.</summary>
    public static int AddressWord(Wire.Ipv6Address address, int index)
    {
        Span<byte> b = stackalloc byte[16];
        address.WriteTo(b);
        return (int)BinaryPrimitives.ReadUInt32BigEndian(b[(index * 4)..]);
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace DataPlane.Linux.Native;

/// <summary>
/// The bpf(2) system call, for the few things we need it for: loading tiny tc classifiers written here as raw
/// eBPF instructions (no libbpf, no compiler), attaching one with tcx (a BPF link on a device's ingress or egress
/// hook), listing what a hook holds, and running a program on a test frame. Instruction encoding per
/// Documentation/bpf/standardization (instruction-set.rst); attr layouts per include/uapi/linux/bpf.h.
/// </summary>
internal static unsafe partial class Bpf
{
    private const long SysBpf = 321; // x86-64
    private const int BpfProgLoad = 5;
    private const int BpfProgTestRun = 10;
    private const int BpfProgGetFdById = 13;
    private const int BpfObjGetInfoByFd = 15;
    private const int BpfProgQuery = 16;
    private const int BpfLinkCreate = 28;
    private const int AttrSize = 128;
    public const int ProgTypeSchedCls = 3;

    /// <summary>enum bpf_attach_type: BPF_TCX_INGRESS (46) and BPF_TCX_EGRESS (47), Linux ≥ 6.6.</summary>
    public const int AttachTcxIngress = 46;
    public const int AttachTcxEgress = 47;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long cmd, void* attr, long size);

    // Opcodes (class | op | source/size).
    public const byte MovRegToReg64 = 0xbf;  // BPF_ALU64 | BPF_MOV | BPF_X
    public const byte MovImm64 = 0xb7;       // BPF_ALU64 | BPF_MOV | BPF_K
    public const byte AddImm64 = 0x07;       // BPF_ALU64 | BPF_ADD | BPF_K
    public const byte LoadImm64 = 0x18;      // BPF_LD | BPF_IMM | BPF_DW (two instruction slots)
    public const byte LoadMemWord = 0x61;    // BPF_LDX | BPF_MEM | BPF_W  (dst = *(u32 *)(src + off))
    public const byte LoadMemByte = 0x71;    // BPF_LDX | BPF_MEM | BPF_B  (dst = *(u8 *)(src + off))
    public const byte LoadAbsByte = 0x30;    // BPF_LD | BPF_ABS | BPF_B   (r0 = skb[imm], legacy packet access)
    public const byte LoadAbsHalf = 0x28;    // BPF_LD | BPF_ABS | BPF_H   (network → host order)
    public const byte LoadAbsWord = 0x20;    // BPF_LD | BPF_ABS | BPF_W
    public const byte JeqImm = 0x15;         // BPF_JMP | BPF_JEQ | BPF_K  (64-bit compare)
    public const byte JneImm = 0x55;         // BPF_JMP | BPF_JNE | BPF_K
    public const byte JneReg = 0x5d;         // BPF_JMP | BPF_JNE | BPF_X
    public const byte Jne32Imm = 0x56;       // BPF_JMP32 | BPF_JNE | BPF_K
    public const byte Jeq32Imm = 0x16;       // BPF_JMP32 | BPF_JEQ | BPF_K
    public const byte Call = 0x85;           // BPF_JMP | BPF_CALL (imm = helper number)
    public const byte Exit = 0x95;           // BPF_JMP | BPF_EXIT

    // Helper numbers (enum bpf_func_id, the FN() list of include/uapi/linux/bpf.h).
    public const int HelperSkbStoreBytes = 9;
    public const int HelperSkbLoadBytes = 26;
    public const int HelperGetSocketCookie = 46;
    public const int HelperSkbAdjustRoom = 50;

    public static ulong Instruction(byte opcode, int dst = 0, int src = 0, short offset = 0, int imm = 0) =>
        opcode | (ulong)(byte)((src << 4) | dst) << 8 | (ulong)(ushort)offset << 16 | (ulong)(uint)imm << 32;

    /// <summary>The first slot of a 64-bit immediate load (dst = value); <see cref="LoadImm64High"/> is the second.</summary>
    public static ulong LoadImm64Low(int dst, ulong value) => Instruction(LoadImm64, dst, imm: (int)(uint)value);

    public static ulong LoadImm64High(ulong value) => Instruction(0, imm: (int)(uint)(value >> 32));

    /// <summary>Load a SCHED_CLS program; returns its fd. The verifier's log is in the exception if it refuses.</summary>
    public static int LoadSchedCls(ReadOnlySpan<ulong> instructions, string name) => LoadSchedCls(instructions, name, out _);

    /// <summary>As <see cref="LoadSchedCls(ReadOnlySpan{ulong}, string)"/>, also returning what the verifier said
    /// (log level 2 prints its statistics: the instructions it processed).</summary>
    public static int LoadSchedCls(ReadOnlySpan<ulong> instructions, string name, out string verifierLog, bool verboseLog = false)
    {
        byte[] license = Encoding.ASCII.GetBytes("GPL\0");
        byte[] log = new byte[65536];
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        fixed (ulong* insns = instructions)
        fixed (byte* lic = license)
        fixed (byte* logBuf = log)
        {
            *(uint*)(attr + 0) = ProgTypeSchedCls;
            *(uint*)(attr + 4) = (uint)instructions.Length;
            *(ulong*)(attr + 8) = (ulong)insns;
            *(ulong*)(attr + 16) = (ulong)lic;
            *(uint*)(attr + 24) = verboseLog ? 2u : 1u; // log_level: the verifier says why, if it refuses
            *(uint*)(attr + 28) = (uint)log.Length;
            *(ulong*)(attr + 32) = (ulong)logBuf;
            var nameBytes = Encoding.ASCII.GetBytes(name);
            nameBytes.AsSpan(0, Math.Min(nameBytes.Length, 15)).CopyTo(new Span<byte>(attr + 48, 15));
            long fd = Syscall(SysBpf, BpfProgLoad, attr, AttrSize);
            int end = Array.IndexOf(log, (byte)0);
            verifierLog = Encoding.ASCII.GetString(log, 0, end < 0 ? log.Length : end).Trim();
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new LinuxIoException($"bpf BPF_PROG_LOAD {name}", errno, verifierLog.Length == 0 ? null : verifierLog);
            }
            return (int)fd;
        }
    }

    /// <summary>
    /// Attach a loaded SCHED_CLS program to a device's tcx ingress or egress hook as a BPF link (BPF_LINK_CREATE,
    /// Linux ≥ 6.6), appended after whatever the hook already runs. Returns the link's fd: the program stays
    /// attached while it is open, and the kernel detaches it when the last reference closes (also when the
    /// process dies), so a crashed daemon leaves nothing behind.
    /// </summary>
    public static int LinkCreateTcx(int programFd, int ifIndex, int attachType)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = (uint)programFd;
        *(uint*)(attr + 4) = (uint)ifIndex;
        *(uint*)(attr + 8) = (uint)attachType;
        long fd = Syscall(SysBpf, BpfLinkCreate, attr, AttrSize);
        if (fd < 0) throw new LinuxIoException($"bpf BPF_LINK_CREATE tcx {(attachType == AttachTcxEgress ? "egress" : "ingress")} dev #{ifIndex}", Marshal.GetLastPInvokeError());
        return (int)fd;
    }

    /// <summary>The ids of the programs on a device's tcx hook (BPF_PROG_QUERY), in the order they run.</summary>
    public static uint[] QueryTcx(int ifIndex, int attachType)
    {
        uint* ids = stackalloc uint[64];
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = (uint)ifIndex;
        *(uint*)(attr + 4) = (uint)attachType;
        *(ulong*)(attr + 16) = (ulong)ids;
        *(uint*)(attr + 24) = 64;
        if (Syscall(SysBpf, BpfProgQuery, attr, AttrSize) < 0)
            throw new LinuxIoException($"bpf BPF_PROG_QUERY tcx dev #{ifIndex}", Marshal.GetLastPInvokeError());
        int count = (int)Math.Min(*(uint*)(attr + 24), 64u);
        return new ReadOnlySpan<uint>(ids, count).ToArray();
    }

    /// <summary>The name a loaded program was given (bpf_prog_info.name), by its id; null when it is gone.</summary>
    public static string? ProgramName(uint id)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)attr = id;
        long fd = Syscall(SysBpf, BpfProgGetFdById, attr, AttrSize);
        if (fd < 0) return null;
        try
        {
            byte* info = stackalloc byte[256];
            new Span<byte>(info, 256).Clear();
            new Span<byte>(attr, AttrSize).Clear();
            *(uint*)(attr + 0) = (uint)fd;   // info.bpf_fd
            *(uint*)(attr + 4) = 256;        // info.info_len
            *(ulong*)(attr + 8) = (ulong)info;
            if (Syscall(SysBpf, BpfObjGetInfoByFd, attr, AttrSize) < 0) return null;
            var name = new ReadOnlySpan<byte>(info + 64, 16); // struct bpf_prog_info: name[16] at 64
            int nul = name.IndexOf((byte)0);
            return Encoding.ASCII.GetString(nul < 0 ? name : name[..nul]);
        }
        finally
        {
            Tmds.Linux.LibC.close((int)fd);
        }
    }

    /// <summary>
    /// Run a SCHED_CLS program once on <paramref name="frame"/> (BPF_PROG_TEST_RUN) with an __sk_buff context whose
    /// gso_size is <paramref name="gsoSize"/>; returns its return value, and the frame as the program left it in
    /// <paramref name="frameOut"/> (its length in <paramref name="lengthOut"/>).
    /// </summary>
    public static int TestRun(int programFd, ReadOnlySpan<byte> frame, uint gsoSize, Span<byte> frameOut, out int lengthOut)
    {
        const int SkBuffSize = 192; // sizeof(struct __sk_buff)
        byte* ctx = stackalloc byte[SkBuffSize];
        new Span<byte>(ctx, SkBuffSize).Clear();
        *(uint*)(ctx + 176) = gsoSize; // __sk_buff.gso_size
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        fixed (byte* data = frame)
        fixed (byte* outBuf = frameOut)
        {
            *(uint*)(attr + 0) = (uint)programFd;
            *(uint*)(attr + 8) = (uint)frame.Length;
            *(uint*)(attr + 12) = (uint)frameOut.Length;
            *(ulong*)(attr + 16) = (ulong)data;
            *(ulong*)(attr + 24) = (ulong)outBuf;
            *(uint*)(attr + 32) = 1; // repeat
            *(uint*)(attr + 40) = SkBuffSize;
            *(ulong*)(attr + 48) = (ulong)ctx;
            if (Syscall(SysBpf, BpfProgTestRun, attr, AttrSize) < 0)
                throw new LinuxIoException("bpf BPF_PROG_TEST_RUN", Marshal.GetLastPInvokeError());
            lengthOut = (int)*(uint*)(attr + 12);
            return *(int*)(attr + 4);
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

using DataPlane.Wire;

namespace DataPlane.Protocol;

/// <summary>What the machines need to know about a PBA status beyond its number.</summary>
public static class BindingAckStatusInfo
{
    /// <summary>"MagNotAuthorizedForProxyRegistration (154)": the RFC's meaning and the number, for logs and failures.</summary>
    public static string Describe(BindingAckStatus status) =>
        Enum.IsDefined(status) ? $"{status} ({(byte)status})" : $"status {(byte)status}";

    /// <summary>
    /// Whether sending the same registration again later can succeed without anyone changing
    /// configuration. 128 (unspecified) and 130 (insufficient resources) are transient by nature;
    /// 156/157 are timestamp disagreements that a later PBU (fresh timestamp, clocks converging) can
    /// clear. Everything else (129 prohibited, 152 not enabled, 154 MAG not authorised, 155 prefix not
    /// authorised, 158–162 a malformed PBU, 159 prefix set mismatch…) will be answered the same way
    /// again, so retrying only adds load (and a hostile VM could use it to make us hammer the LMA).
    /// </summary>
    public static bool IsRetryable(BindingAckStatus status) => status is
        BindingAckStatus.ReasonUnspecified or
        BindingAckStatus.InsufficientResources or
        BindingAckStatus.TimestampMismatch or
        BindingAckStatus.TimestampLowerThanPreviousAccepted;
}

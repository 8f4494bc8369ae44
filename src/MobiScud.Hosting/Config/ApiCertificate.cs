using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MobiScud.Hosting.Config;

/// <summary>Loads the API's TLS certificate (PEM or PKCS#12) and says what is wrong with one that does not load.</summary>
internal static class ApiCertificate
{
    public static X509Certificate2 Load(ApiOptions api)
    {
        var path = api.Certificate ?? throw new InvalidOperationException("no Api:Certificate configured");
        X509Certificate2 cert;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
        {
            cert = X509CertificateLoader.LoadPkcs12FromFile(path, api.CertificatePassword);
        }
        else
        {
            cert = api.CertificatePassword is { } password
                ? X509Certificate2.CreateFromEncryptedPemFile(path, password, api.CertificateKey)
                : X509Certificate2.CreateFromPemFile(path, api.CertificateKey);
        }

        if (!cert.HasPrivateKey)
        {
            cert.Dispose();
            throw new CryptographicException("the certificate has no private key (give Api:CertificateKey, or a file that holds both)");
        }

        return cert;
    }

    /// <summary>Null when the certificate loads with its private key; else why not, naming the key and the file.</summary>
    public static string? Problem(ApiOptions api, string prefix)
    {
        foreach (var (key, file) in new[] { ("Certificate", api.Certificate), ("CertificateKey", api.CertificateKey) })
        {
            if (file is not null && !File.Exists(file))
            {
                return $"{prefix}:{key} file '{file}' does not exist";
            }
        }

        try
        {
            using var cert = Load(api);
            return cert.NotAfter < TimeProvider.System.GetLocalNow().DateTime ? $"{prefix}:Certificate '{api.Certificate}' expired on {cert.NotAfter:yyyy-MM-dd}" : null;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            return $"{prefix}:Certificate '{api.Certificate}' cannot be used: {e.Message}";
        }
    }
}

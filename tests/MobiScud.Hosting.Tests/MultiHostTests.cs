using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using MobiScud.Control;
using MobiScud.Hosting.Config;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>
/// What a cluster across hosts needs: silos that advertise (and bind) the address other hosts reach them on, and an
/// API that listens beyond loopback with TLS. The hosts here are loopback addresses 127.0.0.2 and 127.0.0.3, which
/// are distinct addresses to the kernel: a silo bound to one refuses connections to another.
/// </summary>
public sealed class MultiHostTests
{
    [Fact]
    public async Task Services_advertising_different_addresses_form_one_cluster_and_bind_only_their_own()
    {
        await using var backend = await TestStorage.StartAsync(StorageKind.Redis);
        var cluster = $"test-{Guid.NewGuid():N}";
        var settingsA = Settings(new(backend.Settings) { ["MobiScud:Silo:ClusterId"] = cluster, ["MobiScud:Silo:AdvertisedAddress"] = "127.0.0.2" });
        var settingsB = Settings(new(backend.Settings)
        {
            ["MobiScud:Silo:ClusterId"] = cluster,
            ["MobiScud:Silo:AdvertisedAddress"] = "127.0.0.3",
            ["MobiScud:Silo:ListenOnAnyAddress"] = "true",
        });
        await using var a = await StartAsync(settingsA);
        await using var b = await StartAsync(settingsB);

        var management = a.Grains.GetGrain<IManagementGrain>(0);
        await Wait.Until(async () => (await management.GetHosts(onlyActive: true)).Count == 2, "both silos active in the membership table");
        var hosts = (await management.GetHosts(onlyActive: true)).Keys.Select(s => s.Endpoint).ToList();
        Assert.Contains(new IPEndPoint(IPAddress.Parse("127.0.0.2"), int.Parse(settingsA["MobiScud:Silo:SiloPort"]!)), hosts);
        Assert.Contains(new IPEndPoint(IPAddress.Parse("127.0.0.3"), int.Parse(settingsB["MobiScud:Silo:SiloPort"]!)), hosts);

        // A binds its advertised address only; B, told to listen on any address, answers on another one too.
        Assert.False(await Connects(IPAddress.Loopback, int.Parse(settingsA["MobiScud:Silo:SiloPort"]!)), "silo A must not listen on 127.0.0.1");
        Assert.True(await Connects(IPAddress.Parse("127.0.0.2"), int.Parse(settingsA["MobiScud:Silo:SiloPort"]!)), "silo A listens on 127.0.0.2");
        Assert.True(await Connects(IPAddress.Loopback, int.Parse(settingsB["MobiScud:Silo:SiloPort"]!)), "silo B listens on every address");

        // Events tapped at A reach UE grains wherever they were placed, and B reads the same states.
        const int ues = 20;
        for (var i = 0; i < ues; i++)
        {
            await a.Pipeline.PostAsync(Attach(i, EnbA, Now));
        }

        await Wait.Until(async () =>
        {
            for (var i = 0; i < ues; i++)
            {
                if ((await b.State(Ue(i)))?.PvmStatus != PvmStatus.Running)
                {
                    return false;
                }
            }

            return true;
        }, "every UE's PVM running, read through silo B");

        // Random placement put UEs on both hosts, so calls crossed between the two addresses.
        var placed = await management.GetSimpleGrainStatistics();
        var perSilo = placed.Where(s => s.GrainType.Contains("UeGrain", StringComparison.Ordinal)).GroupBy(s => s.SiloAddress.Endpoint.Address).ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
        Assert.Equal(2, perSilo.Count);
    }

    [Fact]
    public async Task The_api_serves_https_with_the_configured_pem_certificate()
    {
        var dir = Directory.CreateTempSubdirectory("mobiscud-tls-");
        try
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=mobiscud-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            var certFile = Path.Combine(dir.FullName, "api.crt");
            var keyFile = Path.Combine(dir.FullName, "api.key");
            await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
            await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());

            await using var serve = await StartAsync(Settings(new() { ["MobiScud:Api:Certificate"] = certFile, ["MobiScud:Api:CertificateKey"] = keyFile }));
            Assert.Equal("https", serve.BaseAddress.Scheme);

            // The client trusts exactly this certificate: the TLS handshake proves the server presents it.
            X509Certificate2? presented = null;
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, c, _, _) =>
                {
                    presented = c is null ? null : new X509Certificate2(c);
                    return c?.Thumbprint == cert.Thumbprint;
                },
            };
            using var client = new HttpClient(handler) { BaseAddress = serve.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
            var ues = await client.GetFromJsonAsync<JsonElement>("/api/v1/ues");
            Assert.Equal(JsonValueKind.Array, ues.ValueKind);
            Assert.Equal(cert.Thumbprint, presented?.Thumbprint);

            // Plain HTTP to the TLS port gets no API answer.
            using var plain = new HttpClient { BaseAddress = new UriBuilder(serve.BaseAddress) { Scheme = "http" }.Uri, Timeout = TimeSpan.FromSeconds(30) };
            plain.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
            var answer = await Record.ExceptionAsync(async () => (await plain.GetAsync("/api/v1/ues")).EnsureSuccessStatusCode());
            Assert.NotNull(answer);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("MobiScud:Silo:AdvertisedAddress", "host-a", null, "MobiScud:Silo:AdvertisedAddress 'host-a' is not an IP address")]
    [InlineData("MobiScud:Silo:AdvertisedAddress", "10.1.2.3", null, "MobiScud:Silo:AdvertisedAddress 10.1.2.3 is not loopback, but Storage:Kind Memory")]
    [InlineData("MobiScud:Silo:AdvertisedAddress", "0.0.0.0", "Redis", "MobiScud:Silo:AdvertisedAddress 0.0.0.0 cannot be reached by other silos")]
    [InlineData("MobiScud:Api:Address", "everywhere", null, "MobiScud:Api:Address 'everywhere' is not an IP address")]
    [InlineData("MobiScud:Api:Certificate", "/nonexistent/api.crt", null, "MobiScud:Api:Certificate file '/nonexistent/api.crt' does not exist")]
    [InlineData("MobiScud:Api:CertificatePassword", "secret", null, "MobiScud:Api:CertificateKey and CertificatePassword need MobiScud:Api:Certificate")]
    public void A_bad_address_or_certificate_is_named(string key, string value, string? storage, string expected)
    {
        var settings = Settings(new() { [key] = value });
        if (storage is not null)
        {
            settings["MobiScud:Storage:Kind"] = storage;
        }

        var e = Assert.Throws<OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = settings }));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_certificate_file_that_is_not_a_certificate_is_named()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
            var e = Assert.Throws<OptionsValidationException>(() => ServeHost.Build([], null, new ServeOverrides { Settings = Settings(new() { ["MobiScud:Api:Certificate"] = file }) }));
            Assert.Contains($"MobiScud:Api:Certificate '{file}' cannot be used", e.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<bool> Connects(IPAddress address, int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(address, port).WaitAsync(TimeSpan.FromSeconds(10));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

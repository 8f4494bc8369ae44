using System.Text.Json.Nodes;

namespace MobiScud.Hosting.Tests.Mec;

/// <summary>The validator itself: the specs load, and it accepts what they define and rejects what they do not.</summary>
public sealed class MecSchemaTests
{
    [Theory]
    [InlineData(MecSpec.Mec021, "MobilityProcedureNotification")]
    [InlineData(MecSpec.Mec012, "CellChangeNotification")]
    [InlineData(MecSpec.Mec021AdvantEdge, "AdjacentAppInfoNotification")]
    [InlineData(MecSpec.Mec021, "AdjacentAppInstanceInfo")]
    [InlineData(MecSpec.Mec012, "PlmnInfo")]
    [InlineData(MecSpec.Mec012, "L2Meas")]
    public void Each_spec_defines_the_schemas_we_emit(MecSpec spec, string schema)
    {
        var schemas = MecSchemas.LoadSpec(spec)["components"]!["schemas"]!.AsObject();
        Assert.True(schemas.ContainsKey(schema), $"{spec} has no {schema}");
    }

    [Fact]
    public void A_mobility_procedure_notification_as_specified_is_valid_and_one_with_a_string_status_is_not()
    {
        JsonNode Body(JsonNode status) => new JsonObject
        {
            ["notificationType"] = "MobilityProcedureNotification",
            ["timeStamp"] = new JsonObject { ["seconds"] = 1_767_600_000, ["nanoSeconds"] = 0 },
            ["associateId"] = new JsonArray(new JsonObject { ["type"] = 1, ["value"] = "10.45.0.2" }),
            ["mobilityStatus"] = status,
            ["_links"] = new JsonObject { ["subscription"] = new JsonObject { ["href"] = "http://mc/amsi/v1/subscriptions/1" } },
        };

        MecSchemas.AssertValid(MecSpec.Mec021, "MobilityProcedureNotification", Body(1));
        var invalid = MecSchemas.Validate(MecSpec.Mec021, "MobilityProcedureNotification", Body("COMPLETED"));
        Assert.Contains(invalid, e => e.StartsWith("/mobilityStatus", StringComparison.Ordinal));
    }

    [Fact]
    public void A_cell_change_notification_needs_real_ecgis_and_no_extra_fields()
    {
        JsonObject Ecgi() => new() { ["cellId"] = "0a2c010", ["plmn"] = new JsonObject { ["mcc"] = "001", ["mnc"] = "01" } };
        JsonObject Body(JsonNode src) => new()
        {
            ["notificationType"] = "CellChangeNotification",
            ["hoStatus"] = 3,
            ["srcEcgi"] = src,
            ["trgEcgi"] = new JsonArray(Ecgi()),
            ["associateId"] = new JsonArray(new JsonObject { ["type"] = 1, ["value"] = "10.45.0.2" }),
        };

        MecSchemas.AssertValid(MecSpec.Mec012, "CellChangeNotification", Body(Ecgi()));
        Assert.Contains(MecSchemas.Validate(MecSpec.Mec012, "CellChangeNotification", Body(new JsonObject { ["enbId"] = 5 })), e => e.StartsWith("/srcEcgi", StringComparison.Ordinal));
        var extra = Body(Ecgi());
        extra["pvmSite"] = "site-a";
        Assert.Contains(MecSchemas.Validate(MecSpec.Mec012, "CellChangeNotification", extra), e => e.Contains("pvmSite", StringComparison.Ordinal) || e.Contains("unevaluatedProperties", StringComparison.Ordinal));
    }
}

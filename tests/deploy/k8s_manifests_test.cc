// deploy/k8s: every manifest parses and names itself; the ConfigMap's pipeline is a valid pipeline; each stage's
// `host` has a Deployment running `vnawire run --host` for it and a Service with every port its outputs bind.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>

#include "stages/registry.h"
#include "stages/runtime/curve.h"
#include "stages/runtime/pipeline_config.h"
#include "stages/runtime/wiring.h"

namespace vnawire::runtime {
namespace {

namespace fs = std::filesystem;

const fs::path kManifests = fs::path(VNAWIRE_SOURCE_DIR) / "deploy/k8s";

std::vector<YAML::Node> all_documents() {
  std::vector<YAML::Node> documents;
  for (const auto& entry : fs::directory_iterator(kManifests)) {
    if (entry.path().extension() != ".yaml") continue;
    for (auto& document : YAML::LoadAllFromFile(entry.path().string())) {
      if (!document.IsNull()) documents.push_back(document);
    }
  }
  return documents;
}

int port_of(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

TEST(K8sManifests, EveryManifestParsesAndHasApiVersionKindAndName) {
  ASSERT_TRUE(fs::is_directory(kManifests));
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(kManifests)) {
    if (entry.path().extension() != ".yaml") continue;
    std::vector<YAML::Node> documents;
    ASSERT_NO_THROW(documents = YAML::LoadAllFromFile(entry.path().string())) << entry.path();
    for (const auto& document : documents) {
      ASSERT_TRUE(document["apiVersion"].IsScalar()) << entry.path();
      ASSERT_TRUE(document["kind"].IsScalar()) << entry.path();
      if (document["kind"].as<std::string>() == "Kustomization") continue;
      EXPECT_TRUE(document["metadata"]["name"].IsScalar()) << entry.path();
      ++checked;
    }
  }
  EXPECT_GE(checked, 10u);
}

TEST(K8sManifests, TheConfigMapIsAValidPipelineAndEveryHostHasItsDeploymentAndPorts) {
  std::string pipeline_text;
  std::map<std::string, std::set<int>> service_ports;  // Service name -> ports
  std::set<std::string> hosts_run;                     // the --host of each Deployment
  for (const auto& document : all_documents()) {
    const std::string kind = document["kind"].as<std::string>();
    if (kind == "ConfigMap") pipeline_text = document["data"]["pipeline.yaml"].as<std::string>();
    if (kind == "Service") {
      for (const auto& port : document["spec"]["ports"]) {
        service_ports[document["metadata"]["name"].as<std::string>()].insert(port["port"].as<int>());
      }
    }
    if (kind == "Deployment") {
      const auto args = document["spec"]["template"]["spec"]["containers"][0]["args"].as<std::vector<std::string>>();
      for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--host") hosts_run.insert(args[i + 1]);
      }
    }
  }
  ASSERT_FALSE(pipeline_text.empty()) << "no ConfigMap with pipeline.yaml";

  // The key files the pods mount under /etc/vnawire, made for real in a scratch folder.
  char pattern[] = "/tmp/vnawire-k8s-XXXXXX";
  const fs::path root = ::mkdtemp(pattern);
  ASSERT_TRUE(write_key_pair(root / "server", "server", false));
  ASSERT_TRUE(write_key_pair(root / "own", "host", false));
  ASSERT_TRUE(write_key_pair(root / "authorized", "extract", false));
  fs::remove(root / "authorized/extract.secret");
  std::string text = pipeline_text;
  for (auto at = text.find("/etc/vnawire/"); at != std::string::npos; at = text.find("/etc/vnawire/", at)) {
    text.replace(at, 13, root.string() + "/");
  }
  auto loaded = parse_pipeline_config(text, "configmap.yaml", root,
                                      [](const std::string& type) { return stages::find_stage(type); });
  fs::remove_all(root);
  std::string errors;
  for (const auto& error : loaded.errors) errors += error.to_string() + "\n";
  ASSERT_TRUE(loaded.ok()) << errors;
  const PipelineConfig& config = loaded.config;
  ASSERT_TRUE(curve_enabled(config));

  EXPECT_TRUE(service_ports[config.pipeline.get_string("tcp_host")].count(port_of(control_endpoint(config))))
      << "the control Service lacks the control port";
  for (const auto& stage : config.stages) {
    ASSERT_FALSE(stage.host.empty()) << stage.name << " would run in the control pod";
    EXPECT_TRUE(hosts_run.count(stage.host)) << "no Deployment runs --host " << stage.host;
    for (const auto& consumer : config.consumers_of(stage.name)) {
      for (int r = 0; r < stage.replicas; ++r) {
        const std::string endpoint = output_endpoint(config, stage.name, r, consumer);
        EXPECT_EQ(endpoint.rfind("tcp://" + stage.host + ":", 0), 0u) << endpoint;
        EXPECT_TRUE(service_ports[stage.host].count(port_of(endpoint)))
            << "Service " << stage.host << " lacks port " << port_of(endpoint) << " of " << stage.name << "#" << r;
      }
    }
  }
}

}  // namespace
}  // namespace vnawire::runtime

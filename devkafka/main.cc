// fourkeys-devkafka: the embedded Kafka for development and tests.
//
// Runs librdkafka's mock cluster (rdkafka_mock.h) in its own process. It
// speaks the Kafka protocol over TCP on localhost, so the receiver, the
// worker and the tests connect to it with the same client code they use
// against real Kafka. It is for one machine and tests only: it keeps data in
// memory and drops a partition's oldest messages beyond 5 MiB (see README).
//
// The first line on stdout is the bootstrap servers list. With
// --control-stdin, each line read from stdin is a fault-injection command
// (answered "ok ..." or "error ..." on stdout):
//   down | up                       take every broker down / bring them back
//   produce-errors <ERROR> <count>  fail the next <count> Produce requests
//   rtt <ms>                        add round-trip latency to every broker
//   clear                           drop queued request errors

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int16_t kProduceApiKey = 0;

rd_kafka_resp_err_t error_by_name(const std::string& name) {
  const struct rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name && name == descs[i].name) return descs[i].code;
  }
  try {
    return static_cast<rd_kafka_resp_err_t>(std::stoi(name));
  } catch (...) {
    return RD_KAFKA_RESP_ERR_UNKNOWN;
  }
}

void reply(const std::string& line) {
  std::cout << line << std::endl;
}

void run_control(rd_kafka_mock_cluster_t* cluster, int brokers) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string cmd;
    words >> cmd;
    if (cmd.empty()) continue;
    if (cmd == "down") {
      rd_kafka_mock_broker_set_down(cluster, -1);
      for (int b = 1; b <= brokers; ++b) rd_kafka_mock_broker_set_down(cluster, b);
      reply("ok down");
    } else if (cmd == "up") {
      for (int b = 1; b <= brokers; ++b) rd_kafka_mock_broker_set_up(cluster, b);
      reply("ok up");
    } else if (cmd == "produce-errors") {
      std::string name;
      size_t count = 1;
      words >> name >> count;
      const auto err = error_by_name(name);
      if (err == RD_KAFKA_RESP_ERR_UNKNOWN || count == 0) {
        reply("error unknown error name or count: " + line);
        continue;
      }
      std::vector<rd_kafka_resp_err_t> errors(count, err);
      rd_kafka_mock_push_request_errors_array(cluster, kProduceApiKey, errors.size(), errors.data());
      reply("ok produce-errors " + std::string(rd_kafka_err2name(err)) + " " + std::to_string(count));
    } else if (cmd == "rtt") {
      int ms = 0;
      words >> ms;
      for (int b = 1; b <= brokers; ++b) rd_kafka_mock_broker_set_rtt(cluster, b, ms);
      reply("ok rtt " + std::to_string(ms));
    } else if (cmd == "clear") {
      rd_kafka_mock_clear_request_errors(cluster, kProduceApiKey);
      reply("ok clear");
    } else {
      reply("error unknown command: " + cmd);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourkeys-devkafka: librdkafka's mock Kafka cluster with the fourkeys topics"};
  int partitions = 6;
  int brokers = 1;
  std::string events_topic = "fourkeys.events.v1";
  std::string deadletter_topic = "fourkeys.deadletter.v1";
  std::vector<std::string> extra_topics;
  bool control_stdin = false;
  app.add_option("--partitions", partitions, "partitions of each topic")
      ->envname("FOURKEYS_DEVKAFKA_PARTITIONS")->capture_default_str();
  app.add_option("--brokers", brokers, "number of mock brokers")->capture_default_str();
  app.add_option("--events-topic", events_topic)->envname("FOURKEYS_EVENTS_TOPIC")->capture_default_str();
  app.add_option("--deadletter-topic", deadletter_topic)
      ->envname("FOURKEYS_DEADLETTER_TOPIC")->capture_default_str();
  app.add_option("--topic", extra_topics, "another topic to create (repeatable)");
  app.add_flag("--control-stdin", control_stdin, "read fault-injection commands from stdin");
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals before any thread starts, then wait for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "fourkeys-devkafka: cannot create the client handle: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!cluster) {
    std::fprintf(stderr, "fourkeys-devkafka: cannot create the mock cluster\n");
    return 1;
  }
  std::vector<std::string> topics = {events_topic, deadletter_topic};
  topics.insert(topics.end(), extra_topics.begin(), extra_topics.end());
  for (const auto& topic : topics) {
    const auto err = rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 1);
    if (err) {
      std::fprintf(stderr, "fourkeys-devkafka: cannot create topic %s: %s\n", topic.c_str(),
                   rd_kafka_err2str(err));
      return 1;
    }
  }

  std::cout << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;
  std::fprintf(stderr,
               "{\"program\":\"fourkeys-devkafka\",\"msg\":\"ready\",\"bootstrap\":\"%s\","
               "\"partitions\":%d,\"note\":\"in-memory, for development and tests only\"}\n",
               rd_kafka_mock_cluster_bootstraps(cluster), partitions);

  if (control_stdin) {
    std::thread(run_control, cluster, brokers).detach();
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}

// Child processes for integration tests: the receiver and the embedded
// Kafka run as the real programs, spoken to over TCP.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace fourkeys::testing {

class ChildProcess {
 public:
  // Starts `program` with `args`; `env` entries are added to (and override)
  // the test's own environment. stdout is readable through read_line();
  // with `pipe_stdin`, write_line() feeds the child's stdin. stderr goes to
  // `stderr_path` (or is inherited when empty).
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env = {}, bool pipe_stdin = false,
               const std::string& stderr_path = "");
  ~ChildProcess();  // SIGKILLs the child if it still runs

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // One line of the child's stdout, without the newline; throws on timeout or EOF.
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void write_line(const std::string& line);

  void signal(int sig);
  // Waits for exit; returns the exit status (128+signal when killed), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  bool running();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  std::string buffered_;
  int status_ = -1;
  bool exited_ = false;
};

// Paths of the built programs (set by CMake).
std::string parser_binary();
std::string devkafka_binary();

// A temporary file name under /tmp that no other process, of this run or
// an earlier one, has used.
std::string temp_path(const std::string& stem);

// A TCP port on 127.0.0.1 nothing listens on now (the kernel's pick for
// port 0). Throws when none can be had.
unsigned short free_port();

// Where the suite's logs and answers go: FOURKEYS_TEST_LOG_DIR (CTest sets
// it, and secrets_not_leaked reads everything there at the end of a run),
// else /tmp.
std::string test_log_dir();

// A unique log file name in test_log_dir(), for a program's stderr.
std::string log_file(const std::string& stem);

// Waits for a file to exist and be non-empty, returns its first line.
std::string wait_for_file_line(const std::string& path, std::chrono::milliseconds timeout);

}  // namespace fourkeys::testing
